"""The conversation-level emotion trend: find the message where the mood turns."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

RANK = {"calm": 0, "anxious": 1, "angry": 2}
# Rising intensity counts only when it rises noticeably and ends somewhere unpleasant.
MIN_STEP = 0.05
MIN_FINAL_INTENSITY = 0.6


def turning_point(history: Sequence[Tuple[str, float]]) -> Optional[Dict[str, Any]]:
    """Whether the latest message is a turning point, given the session's (label, intensity).

    A turning point is calm -> anxious -> angry over the last three messages, or the
    intensity rising over three consecutive messages to an anxious/angry level with the
    last two already upset. One upset message after calm ones is not a trend: calm
    messages' intensities (how unsure the calm reading is) would otherwise make
    「快递到哪了」「我没有订单号」「订单号找不到」 a "rising" mood.
    """
    last = list(history[-3:])
    if len(last) < 3 or any(label not in RANK for label, _ in last):
        return None
    ranks = [RANK[label] for label, _ in last]
    intensities = [round(float(intensity), 3) for _, intensity in last]
    if ranks[0] < ranks[1] < ranks[2]:
        kind = "calm_anxious_angry"
    elif (ranks[1] > 0 and ranks[2] > 0 and intensities[2] >= MIN_FINAL_INTENSITY
          and intensities[1] - intensities[0] >= MIN_STEP
          and intensities[2] - intensities[1] >= MIN_STEP):
        kind = "rising_intensity"
    else:
        return None
    return {"kind": kind, "labels": [label for label, _ in last], "intensities": intensities,
            "message_index": len(history) - 1}


def history_of(turns: Sequence[Any]) -> List[Tuple[str, float]]:
    """(label, intensity) of turns that carry an emotion (see rules.Turn)."""
    return [(turn.emotion, turn.intensity) for turn in turns if turn.emotion]
