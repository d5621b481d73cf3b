"""统一社会信用代码 (18-character unified social credit code, GB 32100-2015) checks.

Dependency-free: the assistant checks a tax id the customer types, the demo shop checks the
invoice request, both with this one function::

    from service_common.credit_code import credit_code_problem, is_valid_credit_code
"""

from __future__ import annotations

import unicodedata
from typing import Optional

# 31 characters: digits and capital letters without I, O, S, V, Z.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
EXCLUDED_LETTERS = "IOSVZ"


def normalize_credit_code(value: str) -> str:
    """Upper-case, full-width to ASCII, spaces and hyphens removed (as customers type it)."""
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text if ch not in " \t-").upper()


def credit_code_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters.

    check = 31 - (sum(value * weight) mod 31), where 31 maps to 0.
    Raises ValueError for a wrong length or characters outside the charset.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError("need exactly 17 characters")
    total = 0
    for char, weight in zip(first17, WEIGHTS, strict=True):
        index = CHARSET.find(char)
        if index < 0:
            raise ValueError(f"invalid character {char!r}")
        total += index * weight
    return CHARSET[(31 - total % 31) % 31]


def credit_code_problem(value: str) -> Optional[str]:
    """None for a valid code, otherwise a Chinese explanation fit for the customer.

    The value is normalized first (see ``normalize_credit_code``).
    """
    code = normalize_credit_code(value)
    if len(code) != LENGTH:
        return f"统一社会信用代码应为18位，您提供的是{len(code)}位，请对照营业执照核对"
    for position, char in enumerate(code, start=1):
        if char in CHARSET:
            continue
        if char in EXCLUDED_LETTERS:
            return (f"统一社会信用代码第{position}位“{char}”无效：代码中不使用字母"
                    f"I、O、S、V、Z，请核对是否为数字1、0、5、2等")
        return f"统一社会信用代码第{position}位“{char}”无效，只能包含数字和大写字母"
    if credit_code_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验不通过，可能有字符输错或顺序颠倒，请对照营业执照重新核对"
    return None


def is_valid_credit_code(value: str) -> bool:
    return credit_code_problem(value) is None
