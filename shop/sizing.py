"""Size advice from a product's size chart (pure functions, no database).

Chart rows are ordered small to large and carry inclusive ``height_cm`` and ``weight_kg``
ranges (see ``shop.catalog``). The rules, in the words a shop assistant would use:

* weight decides the girth, height the length; sizes whose ranges contain both win;
* on a boundary between two sizes ("between sizes") the customer's preference decides:
  loose (or a heavier build) one size up, fitted (or a slim build) one size down, and
  without a preference the larger one, unless the product's fit note says it runs large
  (偏大), then the smaller one;
* when height and weight point to different sizes the weight-based size wins, and a
  clearly taller-than-heavy customer goes one size up so sleeves and length are not short.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

FITS = ("loose", "regular", "fitted")
BODY_SHAPES = ("slim", "regular", "heavy")
FIT_TEXT = {"loose": "宽松", "regular": "常规", "fitted": "修身"}
SHAPE_TEXT = {"slim": "偏瘦", "regular": "标准", "heavy": "偏壮"}

Row = dict[str, Any]


def num(value: float) -> str:
    """175.0 -> '175', 172.5 -> '172.5'."""
    return f"{value:g}"


def _label(row: Row) -> str:
    return f"{row['size']}码"


def range_text(row: Row) -> str:
    h_lo, h_hi = row["height_cm"]
    w_lo, w_hi = row["weight_kg"]
    return f"身高{num(h_lo)}-{num(h_hi)}cm，体重{num(w_lo)}-{num(w_hi)}kg"


def _indices(rows: list[Row], key: str, value: float) -> tuple[list[int], int]:
    """Rows whose range contains the value (else the nearest), and -1/0/+1 when the
    value lies below / inside / above the whole chart."""
    inside = [i for i, r in enumerate(rows) if r[key][0] <= value <= r[key][1]]
    if inside:
        return inside, 0
    distances = [max(r[key][0] - value, value - r[key][1]) for r in rows]
    best = min(distances)
    nearest = [i for i, d in enumerate(distances) if d == best]
    if value < rows[0][key][0]:
        return nearest, -1
    if value > rows[-1][key][1]:
        return nearest, 1
    return nearest, 0


def size_bias(fit_note: Optional[str]) -> int:
    """-1 when the cut runs large (take the smaller of two), +1 when it runs small."""
    note = fit_note or ""
    if "偏大" in note:
        return -1
    if "偏小" in note:
        return 1
    return 0


def advise(
    rows: list[Row],
    height: float,
    weight: float,
    fit: str = "regular",
    body_shape: str = "regular",
    fit_note: Optional[str] = None,
) -> dict[str, Any]:
    """Recommended size with a Chinese reason, alternatives and chart-coverage flags."""
    w_idx, w_out = _indices(rows, "weight_kg", weight)
    h_idx, h_out = _indices(rows, "height_cm", height)
    lean = {"loose": 1, "fitted": -1}.get(fit, 0) + {"heavy": 1, "slim": -1}.get(body_shape, 0)
    bias = size_bias(fit_note)
    build = f"身高{num(height)}cm、体重{num(weight)}kg"
    prefer = _lean_text(fit, body_shape)
    union = set(w_idx) | set(h_idx)
    both = sorted(set(w_idx) & set(h_idx))
    last = len(rows) - 1

    def fits_weight(i: int) -> bool:
        return rows[i]["weight_kg"][0] - 1 <= weight <= rows[i]["weight_kg"][1]

    between: Optional[tuple[int, int]] = None
    moved = 0  # +1 / -1 when the preference moved the pick up / down a size
    if len(both) == 1:
        pick = both[0]
        up = pick + 1 if pick + 1 in union else None
        down = pick - 1 if pick - 1 in union else None
        reason = f"{build}都在{_label(rows[pick])}范围（{range_text(rows[pick])}）内"
        if up is not None:
            between = (pick, up)
        elif down is not None:
            between = (down, pick)
        if lean > 0 and up is not None:
            pick, moved = up, 1
            reason += f"，正好靠近{_label(rows[up])}，您{prefer}，建议选大一码"
        elif lean < 0 and down is not None and fits_weight(down):
            pick, moved = down, -1
            reason += f"，正好靠近{_label(rows[down])}，您{prefer}，建议选小一码"
        elif lean != 0:
            reason += f"，您{prefer}，选{_label(rows[pick])}正合适"
    elif len(both) >= 2:
        low, high = both[0], both[-1]
        between = (low, high)
        reason = (f"{build}正好在{_label(rows[low])}和{_label(rows[high])}之间"
                  f"（{_label(rows[low])}：{range_text(rows[low])}；"
                  f"{_label(rows[high])}：{range_text(rows[high])}）")
        if lean > 0:
            pick, why, moved = high, f"您{prefer}，建议选大一码", 1
        elif lean < 0:
            pick, why, moved = low, f"您{prefer}，建议选小一码", -1
        elif bias < 0:
            pick, why = low, "这款版型偏大，介于两码之间建议选小一码"
        else:
            pick, why = high, "介于两码之间一般建议选大一码，穿着更舒适"
        reason += f"，{why}"
    else:
        w_low, w_high = min(w_idx), max(w_idx)
        h_low, h_high = min(h_idx), max(h_idx)
        by_weight = f"按体重应选{_label(rows[w_low])}"
        if w_low != w_high:
            by_weight = f"按体重在{_label(rows[w_low])}和{_label(rows[w_high])}之间"
        if h_low > w_high:  # taller than the weight suggests
            gap = h_low - w_high
            by_height = f"按身高是{_label(rows[h_low])}"
            if gap == 1:
                pick = w_high
                between = (w_high, h_low)
                reason = (f"{build}：{by_weight}，{by_height}；以体重为准建议"
                          f"{_label(rows[pick])}，介意衣长、袖长或喜欢宽松可选"
                          f"{_label(rows[h_low])}")
                if lean > 0:
                    pick, moved = h_low, 1
                    reason = (f"{build}：{by_weight}，{by_height}；您"
                              f"{prefer}，建议{_label(rows[pick])}")
            else:
                pick = min(w_high + 1 + max(lean, 0), h_low)
                moved = 1 if pick > w_high + 1 else 0
                if lean < 0:
                    pick, moved = w_high, -1
                reason = (f"{build}：{by_weight}，{by_height}，身材偏高偏瘦；"
                          f"建议{_label(rows[pick])}，兼顾衣长和合身度")
        else:  # heavier than the height suggests
            pick = w_low
            by_height = f"按身高是{_label(rows[h_high])}"
            if w_low - h_high == 1:
                between = (h_high, w_low)
            if lean > 0:
                pick = min(w_high + (1 if w_high == w_low else 0), last)
                moved = 1 if pick > w_low else 0
            reason = (f"{build}：{by_weight}，{by_height}；以体重为准建议"
                      f"{_label(rows[pick])}，保证胸围、腰围不紧，衣长可能略长")
            if lean > 0:
                reason += f"（您{prefer}，已按大一码推荐）"

    if w_out or h_out:
        reason = (f"{build}超出尺码表范围，最接近的是{_label(rows[pick])}"
                  f"（{range_text(rows[pick])}）")
    warnings = []
    if w_out > 0 or h_out > 0:
        warnings.append(f"您的身材超出尺码表最大码（{_label(rows[-1])}：{range_text(rows[-1])}），"
                        "穿着可能偏紧或偏短，建议联系客服确认")
    if w_out < 0 or h_out < 0:
        warnings.append(f"您的身材小于尺码表最小码（{_label(rows[0])}：{range_text(rows[0])}），"
                        "穿着可能偏大")
    return {
        "size": rows[pick]["size"],
        "index": pick,
        "reason": reason,
        "between": [rows[i]["size"] for i in between] if between else None,
        "alternatives": _alternatives(rows, pick, moved, w_out or h_out, fits_weight),
        "in_chart": w_out == 0 and h_out == 0,
        "warning": "；".join(warnings) or None,
    }


def _lean_text(fit: str, body_shape: str) -> str:
    parts = []
    if fit != "regular":
        parts.append(f"喜欢{FIT_TEXT[fit]}")
    if body_shape != "regular":
        parts.append(f"体型{SHAPE_TEXT[body_shape]}")
    return "、".join(parts) or "常规穿着"


def _alternatives(
    rows: list[Row], pick: int, moved: int, outside: int, fits_weight: Callable[[int], bool]
) -> list[dict[str, str]]:
    """Neighbouring sizes worth offering, each with when to choose it."""
    result = []
    if pick + 1 < len(rows) and moved <= 0 and outside >= 0:
        result.append({"size": rows[pick + 1]["size"],
                       "reason": f"喜欢宽松或需要内搭厚衣服可选{_label(rows[pick + 1])}"})
    if pick >= 1 and (moved > 0 or fits_weight(pick - 1)) and outside <= 0:
        result.append({"size": rows[pick - 1]["size"],
                       "reason": f"喜欢修身合体可选{_label(rows[pick - 1])}"})
    return result


def similar_feedback(
    rows: list[Any], height: float, weight: float, limit: int = 3,
    max_height_gap: float = 3, max_weight_gap: float = 4,
) -> list[Any]:
    """Feedback rows (objects with height_cm/weight_kg/id) of a similar build, nearest first."""
    close = [r for r in rows if abs(r.height_cm - height) <= max_height_gap
             and abs(r.weight_kg - weight) <= max_weight_gap]
    close.sort(key=lambda r: (abs(r.height_cm - height) / max_height_gap
                              + abs(r.weight_kg - weight) / max_weight_gap, r.id))
    return close if limit <= 0 else close[:limit]
