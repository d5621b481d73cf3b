"""Format-preserving masking of personal data in real customer messages.

Phones, order/tracking/QQ-like digit runs, e-mails and street-level address details are
replaced by deterministic fakes of the same shape (same length, same leading digits), so a
message still *looks* like what the customer wrote (an order number stays an 18-digit
number starting with its real prefix) but identifies nobody. Deterministic (hash of the
original) so re-running the extraction gives the same text.
"""

from __future__ import annotations

import hashlib
import re

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
LONG_DIGITS = re.compile(r"(?<![\d.])\d{8,}(?![\d.])")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Street-level detail after a district/county/town: "...区文三路188号3幢" -> "...区某某路***号".
STREET = re.compile(r"(?<=[区县镇])[\u4e00-\u9fa5]{1,8}(?:路|街|道|巷|弄)\d+号[\d\-幢栋单元室楼]*")


def _digits(seed: str, n: int) -> str:
    out = ""
    counter = 0
    while len(out) < n:
        out += "".join(str(b % 10) for b in hashlib.sha256(f"{seed}:{counter}".encode()).digest())
        counter += 1
    return out[:n]


def fake_phone(real: str) -> str:
    # Keep the 3-digit carrier prefix, replace the subscriber part.
    return real[:3] + _digits("phone" + real, 8)


def fake_digits(real: str) -> str:
    # Keep the first two digits (order-number/tracking prefixes carry the format).
    return real[:2] + _digits("num" + real, len(real) - 2)


# Private names and handles found while reading the selected messages (public figures,
# brands and companies' accounts are kept).
KNOWN_PRIVATE = {
    "夏豪杰": "某某",
    "nuaafhy": "user****",
    "@培君叶-jim_sam_andy_jack": "@某用户",
}


def mask_personal(text: str) -> str:
    for real, fake in KNOWN_PRIVATE.items():
        text = text.replace(real, fake)
    text = EMAIL.sub(lambda m: "user" + _digits("mail" + m.group(0), 4) + "@example.com", text)
    # One pass over digit runs, so a faked phone is not faked a second time as a number.
    text = LONG_DIGITS.sub(
        lambda m: fake_phone(m.group(0))
        if PHONE.fullmatch(m.group(0))
        else fake_digits(m.group(0)),
        text,
    )
    text = STREET.sub("某某路***号", text)
    return text
