"""The after-sales windows the shop enforces, read from the policy file the shop edits
(policy/aftersales.yml; `--policy` / SHOP_POLICY_FILE for another). The assistant reads the
same rules from the shop (GET /api/policy, an order's `no_reason_until`), never from its own
copy, so changing the file changes what both say."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Optional

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "policy" / "aftersales.yml"


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Windows:
    no_reason_days: int  # 无理由退换, counted from delivery
    after_sale_days: int  # any after-sale, counted from delivery

    @property
    def no_reason(self) -> timedelta:
        return timedelta(days=self.no_reason_days)

    @property
    def after_sale(self) -> timedelta:
        return timedelta(days=self.after_sale_days)


def load(path: Path = DEFAULT_PATH) -> Windows:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        windows = Windows(int(content["no_reason_days"]), int(content["after_sale_days"]))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise PolicyError(f"{path}: missing or invalid {error}") from error
    if not 0 < windows.no_reason_days <= windows.after_sale_days:
        raise PolicyError(f"{path}: need 0 < no_reason_days <= after_sale_days")
    return windows


_current: Optional[Windows] = None


def configure(path: Optional[Path] = None) -> Windows:
    """Load the windows the running shop applies (at start: a mistake stops it)."""
    global _current
    _current = load(path or DEFAULT_PATH)
    return _current


def windows() -> Windows:
    return _current or configure()
