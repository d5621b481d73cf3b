"""The after-sales windows the demo shop enforces come from policy/aftersales.yml."""

from pathlib import Path

import pytest

POLICY = Path(__file__).resolve().parents[2] / "policy" / "aftersales.yml"


def test_windows_that_contradict_each_other_stop_the_start(shop_factory, tmp_path):
    path = tmp_path / "aftersales.yml"
    path.write_text(POLICY.read_text(encoding="utf-8").replace(
        "after_sale_days: 15", "after_sale_days: 3"), encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"aftersales.yml:\d+: after_sale_days: must be at "
                                           r"least no_reason_days"):
        shop_factory(extra_args=("--policy", str(path)))
