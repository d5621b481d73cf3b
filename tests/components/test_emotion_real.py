"""The emotion radar, as config.yml trains it, on REAL customer messages
(tests/emotion/real_heldout.yml: held-out part of the real split, never trained on).

The issue's targets (accuracy >= 0.88, macro-F1 >= 0.75, calm scored anxious/angry <= 5 %)
are not reached yet (measured: 0.870 / 0.668 / 5.4 %, docs/nlu_experiments.md): they are
kept as strict expected failures, so reaching them turns the mark into a failure to
remove, and a regression guard holds what is measured today."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List, Tuple

import pytest
from sklearn.metrics import accuracy_score, f1_score

from components.emotion import EmotionRadar, load_examples

ROOT = Path(__file__).resolve().parents[2]
REAL_HELDOUT = ROOT / "tests/emotion/real_heldout.yml"
OWN_HELDOUT = ROOT / "tests/emotion/heldout.yml"


@pytest.fixture(scope="module")
def radar(trained_component: Callable[..., Any]) -> EmotionRadar:
    """The radar of the trained model (config.yml's settings), loaded as `rasa run` does."""
    return trained_component(EmotionRadar)


def figures(radar: EmotionRadar, path: Path) -> Tuple[float, float, float, List[str]]:
    texts, gold = load_examples(str(path))
    predicted = [radar.predict(text)["label"] for text in texts]
    calm = [label for expected, label in zip(gold, predicted, strict=True) if expected == "calm"]
    flagged = sum(label != "calm" for label in calm) / len(calm)
    result = (accuracy_score(gold, predicted), f1_score(gold, predicted, average="macro"),
              flagged, texts)
    print(f"\n{path.name}: accuracy {result[0]:.3f}, macro-F1 {result[1]:.3f}, "
          f"calm scored anxious/angry {flagged:.1%} ({len(texts)} messages)")
    return result


def test_real_split_has_not_leaked_into_training() -> None:
    held = set(load_examples(str(REAL_HELDOUT))[0])
    trained = set(load_examples(str(ROOT / "data/emotion/train.yml"))[0])
    assert len(held) >= 600 and not {text for text in held & trained if len(text) >= 8}


def test_real_split_regression_guard(radar: EmotionRadar) -> None:
    accuracy, macro, flagged, _ = figures(radar, REAL_HELDOUT)
    assert accuracy >= 0.86 and macro >= 0.65 and flagged <= 0.065


def test_own_held_out_floor_with_the_deployed_settings(radar: EmotionRadar) -> None:
    accuracy, _, _, _ = figures(radar, OWN_HELDOUT)
    assert accuracy >= 0.85


@pytest.mark.xfail(strict=True, reason="issue 16 targets not reached yet: real accuracy "
                   "0.870, macro-F1 0.668, calm flagged 5.4% (docs/nlu_experiments.md)")
def test_real_split_targets(radar: EmotionRadar) -> None:
    accuracy, macro, flagged, _ = figures(radar, REAL_HELDOUT)
    assert accuracy >= 0.88 and macro >= 0.75 and flagged <= 0.05
