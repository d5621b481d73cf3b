"""Invoices (发票): type, title, tax id and e-mail collected inside the order form.

Fully digital invoices (数电发票) need only the buyer's name and, for a company, its
统一社会信用代码; address, phone and bank account are optional, so the bot does not ask.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker

from actions.backend import get_backend
from actions.common import joined, money, part
from actions.ownership import proof
from actions.text import mask_email
from contract import OrderStatus
from service_common.credit_code import credit_code_problem, normalize_credit_code

JSON = Dict[str, Any]
PERSONAL = "个人"
# Invoice types; each has its name as a response, utter_invoice_type_<type>.
INVOICE_TYPES = ("normal", "special")
# Whether an order can be invoiced is the shop's call (the order's `invoice_refusal`);
# the usual refusals have the assistant's own words (else the shop's reason is said).
NOT_INVOICEABLE = {OrderStatus.UNPAID: "utter_invoice_refused_unpaid",
                   OrderStatus.CANCELLED: "utter_invoice_refused_cancelled",
                   OrderStatus.REFUNDED: "utter_invoice_refused_refunded",
                   OrderStatus.RETURN_REQUESTED: "utter_invoice_refused_returning"}

SPECIAL_WORDS = ("专票", "专用发票", "增值税专用")
NORMAL_WORDS = ("普票", "普通发票", "电子发票", "电子普票", "普通的", "电子的", "电子版", "电子票")
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 18 characters of the credit-code alphabet, or something close that deserves a reason.
TAX_ID_PATTERN = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{15,20}(?![0-9A-Z])")
ORGANISATION_WORDS = ("公司", "集团", "中心", "厂", "店", "行", "社", "院", "所", "局", "部",
                      "学校", "大学", "协会", "委员会", "工作室", "医院", "基金会")
# How a name given unasked must end to be taken as a title: 「杭州青禾服饰有限公司」.
ORGANISATION_SUFFIXES = ("公司", "集团", "厂", "学校", "大学", "医院", "工作室", "中心", "协会")


# 「发票开好了吗」「怎么还没收到发票」「我的发票呢」: the invoices already asked for, not a
# new request.
ASKS_STATUS = re.compile(r"发票.{0,6}(开好|开了|开出|开没开|好了|到了|发了|进度)"
                         r"|(还没|没有?)(收到|开|发).{0,2}(电子)?发票|(我的|那个|那张)发票呢|发票呢\s*$")


def asks_status(texts: List[str]) -> bool:
    return any(ASKS_STATUS.search(text) for text in texts)


async def requested_before(order: JSON, tracker: Tracker) -> List[JSON]:
    return await get_backend().invoices(order["id"], proof(tracker))


def status(found: List[JSON]) -> JSON:
    """Where the order's invoices are (the three latest), as a response part."""
    return part("utter_invoice_status", invoices=joined(
        [invoice_state(invoice) for invoice in found[-3:]], "utter_separator_clause"))


def invoice_state(invoice: JSON) -> JSON:
    sent = "utter_invoice_sent" if invoice.get("status") == "issued" \
        else "utter_invoice_will_be_sent"
    return part("utter_invoice_state", type=invoice.get("type_text", ""),
                title=invoice.get("title", ""), amount=money(invoice.get("amount")),
                state=invoice.get("status_text", ""),
                sent=part(sent, email=mask_email(str(invoice.get("email") or ""))))


def slots_needed(order: JSON, tracker: Tracker, earlier: Optional[List[JSON]] = None
                 ) -> List[Text]:
    """What the form still asks; nothing when the order cannot be invoiced or the customer
    asked after invoices it already has (`earlier`)."""
    if order.get("invoice_refusal") or earlier:
        return ["order_id"]
    if tracker.get_slot("invoice_title") == PERSONAL:
        # 「开个人的」: a person gets the 普票 (专票 are for organisations), so no type is
        # asked (request() takes normal); one chosen already is still checked.
        return ["order_id", *(["invoice_type"] if tracker.get_slot("invoice_type") else []),
                "invoice_title", "invoice_email"]
    return ["order_id", "invoice_type", "invoice_title", "tax_id", "invoice_email"]


def invoice_type_in(text: str) -> Optional[str]:
    """The invoice type a message names; the last one named when it names both
    (「个人不能开专票吗?那普票」 changes the customer's mind)."""
    special = max((text.rfind(word) for word in SPECIAL_WORDS), default=-1)
    normal = max((text.rfind(word) for word in NORMAL_WORDS), default=-1)
    if special < 0 and normal < 0:
        return None
    return "special" if special > normal else "normal"


def title_problem(title: str, invoice_type: Optional[str]) -> Optional[str]:
    """Why a title cannot be used (the response that explains it), or None."""
    if title == PERSONAL:
        if invoice_type == "special":
            return "utter_reject_invoice_title_personal"
        return None
    if EMAIL_PATTERN.search(title) or TAX_ID_PATTERN.search(title.upper()):
        return "utter_reject_invoice_title_details"
    if not 4 <= len(title) <= 60 or not any(word in title for word in ORGANISATION_WORDS):
        return "utter_reject_invoice_title"
    return None


def clean_title(text: str) -> str:
    """「抬头:杭州某某有限公司」 -> the name; 「个人的」 / 「开个人」 / 「普票 个人的」 -> 个人."""
    text = unicodedata.normalize("NFKC", text).strip()
    # 「就行」「行吗」 are no 银行 (「开个人的 普通的就行」).
    words = re.sub(r"[就也都]行|行[吗吧不嘛]", "", text)
    if PERSONAL in text and (len(text) <= 8 or  # 「能开个普票吗 个人的」 too
                             not any(word in words for word in ORGANISATION_WORDS)):
        return PERSONAL
    # 「公司的 抬头是…」「…专票,公司名称:…」: the name follows the cue wherever it stands.
    cue = re.search(r"(抬头|公司名称|单位名称|公司全称|单位全称)(是|为|写)?[::]?\s*(?=\S)", text)
    text = text[cue.end():] if cue else text
    text = re.sub(r"^(发票)?(单位|公司名称|名称)(是|为|写)?[::]?\s*", "", text)
    # 「公司的 南京…有限公司 税号…」: whose invoice it is, then the name.
    text = re.sub(r"^(开)?(公司|单位|企业)的?(抬头)?[\s,，]+", "", text)
    # Whatever follows (税号…, 邮箱…) is not part of the name.
    text = re.split(r"税号|邮箱|纳税人|[\s,;;]", text)[0]
    return re.sub(r"[。.]+$", "", text)


def early_title(text: str, invoice_type: Optional[str] = None) -> Optional[str]:
    """A title given before the bot asks for it (「个人」, 「抬头是杭州某某有限公司」 while the
    order number is asked for), or None: only what cannot be anything else."""
    if text.startswith("/"):
        return None
    title = clean_title(text)
    named = title == PERSONAL or (("抬头" in text or title.endswith(ORGANISATION_SUFFIXES))
                                  and not re.search("[我你您]", title))
    return title if named and title_problem(title, invoice_type) is None else None


TAX_ID_CUE = re.compile(r"(税号|纳税人识别号|识别号|信用代码)(是|为)?[::]?")


def tax_id_given(text: str) -> Optional[str]:
    """A tax id the customer gave unasked: the code after 税号, else one with letters (an
    order number in the same message is 18 digits too)."""
    normalized = normalize_credit_code(EMAIL_PATTERN.sub("，", text))
    cue = TAX_ID_CUE.search(normalized)
    after = TAX_ID_PATTERN.match(normalized, cue.end()) if cue else None
    if after:
        return after.group(0)
    return next((found.group(0) for found in TAX_ID_PATTERN.finditer(normalized)
                 if not found.group(0).isdigit()), None)


def tax_id_in(text: str) -> Optional[str]:
    # An e-mail in the same message is no part of the code (spaces are removed next).
    match = TAX_ID_PATTERN.search(normalize_credit_code(EMAIL_PATTERN.sub("，", text)))
    return match.group(0) if match else None


def tax_id_problem(tax_id: str) -> Optional[str]:
    problem = credit_code_problem(tax_id)
    if problem is None:
        return None
    return problem.rstrip("。")  # utter_reject_tax_id says it; the form then asks again


def email_in(text: str) -> Optional[str]:
    match = EMAIL_PATTERN.search(unicodedata.normalize("NFKC", text))
    return match.group(0) if match else None


async def request(order: JSON, tracker: Tracker) -> JSON:
    """Files the request with the shop; the answer (a response, actions.common.part) says
    what happens next."""
    if order.get("invoice_refusal"):
        if order["status"] in NOT_INVOICEABLE:
            return part(NOT_INVOICEABLE[order["status"]])
        return part("utter_invoice_refused", reason=order["invoice_refusal"].rstrip("。"))
    kind = tracker.get_slot("invoice_type") or "normal"
    title = tracker.get_slot("invoice_title")
    email = tracker.get_slot("invoice_email")
    if not title or not email:
        return part("utter_invoice_incomplete")
    body: JSON = {"type": kind, "title": title, "email": email,
                  "conversation_id": tracker.sender_id}
    if title != PERSONAL:
        body["tax_id"] = tracker.get_slot("tax_id")
    invoice = await get_backend().request_invoice(order["id"], body, proof(tracker))
    tax = part("utter_invoice_tax_id", tax_id=body["tax_id"]) if body.get("tax_id") else ""
    what = part("utter_invoice_what", type=part(f"utter_invoice_type_{kind}"), title=title,
                tax=tax, amount=money(invoice.get("amount")))
    if invoice.get("duplicate"):
        return part("utter_invoice_duplicate", what=what, email=mask_email(email))
    when = part("utter_invoice_after_receipt") \
        if order.get("status") in (OrderStatus.PAID, OrderStatus.SHIPPED) else ""
    return part("utter_invoice_requested", what=what, when=when, email=mask_email(email))
