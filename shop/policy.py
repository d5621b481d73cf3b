"""The after-sales windows the shop enforces, read from the policy file the shop edits
(policy/aftersales.yml; `--policy` / SHOP_POLICY_FILE for another). The assistant reads the
same rules from the shop (GET /api/policy, an order's `no_reason_until`), never from its own
copy, so changing the file changes what both say."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Optional

from pydantic import Extra, validator

from service_common.config import Count, Model, load_yaml

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "policy" / "aftersales.yml"


class Windows(Model):
    """The shop's part of policy/aftersales.yml (the assistant's part is checked by
    actions/aftersales.py)."""

    no_reason_days: Count  # 无理由退换, counted from delivery
    after_sale_days: Count  # any after-sale, counted from delivery
    price_protection_days: Count = 7  # 价保: price falls refunded, counted from delivery

    class Config:
        extra = Extra.ignore

    @validator("after_sale_days")
    def _covers_no_reason(cls, days: int, values: Dict[str, Any]) -> int:
        if days < values.get("no_reason_days", 0):
            raise ValueError("must be at least no_reason_days")
        return days

    @property
    def no_reason(self) -> timedelta:
        return timedelta(days=self.no_reason_days)

    @property
    def after_sale(self) -> timedelta:
        return timedelta(days=self.after_sale_days)

    @property
    def price_protection(self) -> timedelta:
        return timedelta(days=self.price_protection_days)


def load(path: Path = DEFAULT_PATH) -> Windows:
    """The windows in the file; a mistake raises ConfigError naming file, line and path."""
    return load_yaml(path, Windows)


_current: Optional[Windows] = None


def configure(path: Optional[Path] = None) -> Windows:
    """Load the windows the running shop applies (at start: a mistake stops it)."""
    global _current
    _current = load(path or DEFAULT_PATH)
    return _current


def windows() -> Windows:
    return _current or configure()
