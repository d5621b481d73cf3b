"""GET /api/products/{id}/size-advice: chart-based sizes, reasons and buyer feedback."""

from __future__ import annotations

import pytest
from shop_api_helpers import assert_error, call, get

from shop.catalog import MEN_HEIGHTS, MEN_SIZES, MEN_WEIGHTS


def advice(base: str, product: str, height: float, weight: float, **extra: str) -> dict:
    query = "&".join([f"height_cm={height:g}", f"weight_kg={weight:g}",
                      *(f"{k}={v}" for k, v in extra.items())])
    return get(base, f"/api/products/{product}/size-advice?{query}")


def test_shape_and_reason(shop_server):
    result = advice(shop_server, "P1001", 175, 70)
    assert result["size"] == "L" and result["product_name"] == "男士轻薄羽绒服"
    assert result["reason"].startswith("身高175cm、体重70kg都在L码范围")
    assert "身高170-175cm，体重65-72kg" in result["reason"]
    assert result["between"] == ["L", "XL"] and result["in_chart"] is True
    assert result["warning"] is None and "修身" in result["fit_note"]
    assert [a["size"] for a in result["alternatives"]] == ["XL"]
    assert "宽松" in result["alternatives"][0]["reason"]
    assert result["size_row"]["size"] == "L" and result["size_row"]["chest_cm"] > 100
    assert [row["size"] for row in result["chart"]] == MEN_SIZES
    assert (result["fit"], result["body_shape"]) == ("regular", "regular")
    assert (result["height_cm"], result["weight_kg"]) == (175, 70)
    assert isinstance(result["height_cm"], int)
    assert advice(shop_server, "P1001", 172.5, 68.5)["height_cm"] == 172.5


# (height, weight, extra query, expected size) on P1001 (men's chart, MEN_* in catalog.py)
CASES = [
    (172, 68, {}, "L"),                      # inside one size
    (175, 70, {"fit": "loose"}, "XL"),       # height on the L/XL boundary: loose -> up
    (175, 70, {"fit": "fitted"}, "L"),
    (175, 72, {}, "XL"),                     # both on the boundary: the larger by default
    (175, 72, {"fit": "fitted"}, "L"),
    (175, 72, {"body_shape": "slim"}, "L"),
    (170, 65, {}, "L"),                      # lower boundary of L
    (170, 65, {"fit": "fitted"}, "M"),
    (165, 57, {"body_shape": "heavy"}, "M"),
    (176, 68, {}, "L"),                      # taller than heavy by one size: weight first
    (176, 68, {"fit": "loose"}, "XL"),
    (172, 78, {"fit": "fitted"}, "XL"),      # weight rules out the smaller size
    (185, 60, {}, "L"),                      # tall and slim: one up from the weight size
    (160, 90, {}, "XXL"),                    # short and heavy: the weight size
    (160, 50, {}, "S"),                      # smallest row, both boundaries
    (190, 100, {}, "XXXL"),                  # largest row, both boundaries
]


@pytest.mark.parametrize(("height", "weight", "extra", "size"), CASES)
def test_builds(shop_server, height, weight, extra, size):
    result = advice(shop_server, "P1001", height, weight, **extra)
    assert result["size"] == size, result["reason"]
    assert f"{height}cm" in result["reason"] and f"{weight}kg" in result["reason"]
    assert result["in_chart"] is True


def test_every_row_centre_maps_to_its_own_size(shop_server):
    for size, heights, weights in zip(MEN_SIZES, MEN_HEIGHTS, MEN_WEIGHTS, strict=True):
        centre = (sum(heights) / 2, sum(weights) / 2)
        assert advice(shop_server, "P1004", *centre)["size"] == size


def test_other_charts(shop_server):
    # The women's down coat runs large: between two sizes take the smaller one.
    coat = advice(shop_server, "P1002", 160, 50)
    assert coat["size"] == "S" and coat["between"] == ["S", "M"] and "偏大" in coat["reason"]
    assert advice(shop_server, "P1002", 160, 50, fit="loose")["size"] == "M"
    jeans = advice(shop_server, "P1006", 165, 55)
    assert jeans["size"] == "30" and "29码和30码之间" in jeans["reason"]
    assert advice(shop_server, "P1006", 165, 55, fit="fitted")["size"] == "29"
    assert advice(shop_server, "P1003", 172, 68)["size"] == "L"


def test_outside_the_chart_warns(shop_server):
    big = advice(shop_server, "P1001", 192, 110)
    assert big["size"] == "XXXL" and big["in_chart"] is False
    assert "超出尺码表" in big["reason"] and "联系客服" in big["warning"]
    small = advice(shop_server, "P1001", 152, 44)
    assert small["size"] == "S" and small["in_chart"] is False and "偏大" in small["warning"]


def test_feedback_of_similar_builds(shop_server):
    seen = 0
    for height, weight in ((175, 70), (170, 62), (178, 75), (168, 60)):
        result = advice(shop_server, "P1001", height, weight)
        feedback, summary = result["feedback"], result["feedback_summary"]
        assert len(feedback) <= 3 and summary["count"] >= len(feedback)
        for row in feedback:
            assert set(row) == {"height_cm", "weight_kg", "size", "fit", "fit_code", "text"}
            assert abs(row["height_cm"] - height) <= 3 and abs(row["weight_kg"] - weight) <= 4
            assert row["size"] in MEN_SIZES and row["fit"] in ("合身", "偏大", "偏小")
            assert row["text"] == (f"{row['height_cm']}cm/{row['weight_kg']}kg 的买家选了"
                                   f"{row['size']}码，反馈{row['fit']}")
        if feedback:
            seen += 1
            assert sum(s["count"] for s in summary["sizes"]) == summary["count"]
            prefix = f"身材相近（身高±3cm、体重±4kg）的{summary['count']}位"
            assert summary["text"].startswith(prefix)
        else:
            assert summary == {"count": 0, "sizes": [], "text": None}
    assert seen >= 3
    # Nearest first.
    result = advice(shop_server, "P1001", 175, 70)
    distances = [abs(r["height_cm"] - 175) / 3 + abs(r["weight_kg"] - 70) / 4
                 for r in result["feedback"]]
    assert distances == sorted(distances)
    # Nobody that small bought the men's jacket.
    assert advice(shop_server, "P1001", 150, 42)["feedback"] == []


def test_errors(shop_server):
    error = assert_error(call(shop_server, "GET",
                              "/api/products/P2001/size-advice?height_cm=175&weight_kg=70"),
                         422, "no_size_chart")
    assert "蓝牙耳机Pro" in error["message"]
    assert_error(call(shop_server, "GET", "/api/products/P0000/size-advice?height_cm=175"
                                          "&weight_kg=70"), 404, "product_not_found")
    for query in ("height_cm=1.75&weight_kg=70", "height_cm=175&weight_kg=700",
                  "height_cm=175&weight_kg=7", "height_cm=150&weight_kg=150",
                  "height_cm=230&weight_kg=30", "height_cm=-175&weight_kg=70"):
        error = assert_error(call(shop_server, "GET", f"/api/products/P1001/size-advice?{query}"),
                             400, "implausible_measurements")
        assert "请确认" in error["message"]
    for query in ("weight_kg=70", "height_cm=175", "height_cm=abc&weight_kg=70",
                  "height_cm=nan&weight_kg=70", "height_cm=175&weight_kg=70&fit=baggy",
                  "height_cm=175&weight_kg=70&body_shape=round"):
        assert_error(call(shop_server, "GET", f"/api/products/P1001/size-advice?{query}"), 422,
                     "invalid_query")


def test_trouser_chart_has_waist_and_hip(shop_server):
    """The assistant chooses trousers by waist and hip (「腰围2尺2 臀围90」): the jeans' chart
    gives both per size, growing with the size, next to height and weight."""
    chart = get(shop_server, "/api/products/P1006")["size_chart"]
    assert [row["size"] for row in chart] == [str(size) for size in range(26, 35)]
    for key in ("waist_cm", "hip_cm"):
        values = [row[key] for row in chart]
        assert values == sorted(set(values)), key
    assert (chart[3]["waist_cm"], chart[1]["hip_cm"]) == (73.5, 90.5)  # 29 and 27
