"""Advertising-law (广告法) compliance guard for outgoing texts and a lint for shipped texts.

Runtime:  `get_checker().guard(text, product_category="cosmetics")` -> text to send.
CI:       `python -m compliance lint [paths...]`.
Rules:    compliance/rules.yml (edited by the shop).
"""

from compliance.checker import (
    ALL_CATEGORIES,
    DEFAULT_RULES_PATH,
    ComplianceChecker,
    Hit,
    Verdict,
    get_checker,
)

__all__ = [
    "ALL_CATEGORIES",
    "DEFAULT_RULES_PATH",
    "ComplianceChecker",
    "Hit",
    "Verdict",
    "get_checker",
]
