"""Size advice: product, height and weight (asking only for what is missing), then the
size the product's size chart gives, why, and what buyers of a similar build chose. A
customer who says the size they usually wear or their waist and hip (「我平时穿XL」「腰围2尺2
臀围90」) gets the advice from those on the product's chart first, height and weight only
offered to refine it."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError, InvalidRequest, NotFound, get_backend
from actions.common import PRODUCT_ID, joined, part, session_user_events
from actions.forms import ORDER_ID_PATTERN, RetryingFormValidation, Slots
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from actions.text import CN_DIGITS

logger = logging.getLogger(__name__)

# 「偏瘦 想穿宽松点」 where the garment was asked for: how it should sit, no product's name.
NOT_A_PRODUCT = re.compile(r"偏瘦|偏胖|微胖|瘦|胖|宽松|修身|紧身|合身|显瘦|肩宽|腰粗|肚子|"
                           r"\d+\s*(斤|公斤|kg|cm|厘米)|[一1]米[0-9一二三四五六七八九]")
# How a garment may sit; the buttons are utter_button_fit_<fit> (domain.yml).
FITS = ("loose", "fitted")
SIZE_ANSWER_INTENTS = {"ask_size", "inform"}
# What customers call a garment -> the nouns of catalogue names it covers, to offer the
# right products when a size question names no product (「这件外套175 70公斤穿什么码」).
GARMENT_WORDS = {
    "外套": ("羽绒服", "夹克", "冲锋衣", "开衫", "外套", "大衣", "风衣"),
    "上衣": ("T恤", "卫衣", "开衫", "衬衫"),
    "衣服": (),  # any clothing
    "裤子": ("裤",), "裤": ("裤",), "羽绒": ("羽绒服",), "T恤": ("T恤",), "短袖": ("T恤",),
    "卫衣": ("卫衣",), "夹克": ("夹克",), "冲锋衣": ("冲锋衣",), "开衫": ("开衫",),
    "毛衣": ("开衫",), "牛仔裤": ("牛仔裤",),
}


def page_product(tracker: Tracker) -> Optional[str]:
    """The product page the customer is chatting from (`metadata.product_id` of their
    latest message in this session that carried one), if any."""
    for event in session_user_events(tracker):
        product = str((event.get("metadata") or {}).get("product_id") or "")
        if PRODUCT_ID.fullmatch(product):
            return product
    return None


def has_order_number(tracker: Tracker) -> bool:
    """The latest message holds an order number (typed, pasted or a button's payload)."""
    return bool(ORDER_ID_PATTERN.search(str((tracker.latest_message or {}).get("text") or "")))


class ValidateSizeForm(RetryingFormValidation):
    def name(self) -> Text:
        return "validate_size_form"

    # A message about something else (「我买的羽绒服什么时候到啊」 while asked which product)
    # gives the form nothing: the form steps aside and that request is handled instead.
    failing_intents = frozenset({"inform", "ask_size", "nlu_fallback", "out_of_scope",
                                 "affirm", "deny"})

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        # 「我平时穿XL」 on a product whose chart has that size: no height and weight needed
        # (numbers given are still validated, and then they decide).
        if tracker.get_slot("size_product") and await own_size_advice(tracker):
            return [slot for slot in domain_slots
                    if slot == "size_product" or tracker.get_slot(slot)]
        return domain_slots

    def noted_this_turn(self, tracker: Tracker, before: Slots) -> bool:
        # 「我一般穿L」 for the height question is an answer, not a failed turn.
        return bool(own_measures(session_user_events(tracker)[:1]))

    def is_answer_turn(self, tracker: Tracker) -> bool:
        # An order number is no answer to "which product" but a request about an order
        # (「我想退货」, a size question, then the number): the form steps aside, uncounted,
        # and the order rules take the number.
        return not has_order_number(tracker) and super().is_answer_turn(tracker)

    async def extract_size_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("size_product") or has_order_number(tracker):
            return {}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent not in SIZE_ANSWER_INTENTS:
            return {}  # a form takes no value from a message about something else
        named = next((entity.get("value") for entity in
                      (tracker.latest_message or {}).get("entities", [])
                      if entity.get("entity") == "product"), None)
        chosen = page_product(tracker) or named
        text = str((tracker.latest_message or {}).get("text") or "")
        if chosen is None and tracker.get_slot("requested_slot") == "size_product" and \
                not NOT_A_PRODUCT.search(text):
            chosen = text
        return {"size_product": chosen} if chosen else {}

    async def validate_size_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = str(value or "").strip()[:50]
        if PRODUCT_ID.fullmatch(text):
            return {"size_product": text}
        try:
            found = await get_backend().find_products(text) if text else []
        except BackendError:
            dispatcher.utter_message(response="utter_product_lookup_unavailable")
            return {"size_product": None}
        clothing = [product for product in found if product.get("category") == "clothing"]
        if not clothing:
            return self.reject(dispatcher, tracker, "size_product", "utter_reject_size_product",
                               name=text)
        clothing = [product for product in clothing if product.get("name") == text] or \
            worn_by(clothing, [event.get("text") or "" for event in
                               session_user_events(tracker)[:2]])
        if len(clothing) > 1:
            # 「羽绒服」 with a men's and a women's one: which, with both as buttons (not
            # the men's size chart for 「我160 100斤女生」).
            return {"size_product": None}
        return {"size_product": clothing[0]["id"], "product": clothing[0]["name"]}

    def validate_height_cm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._number(value, "height_cm", 80, 230, dispatcher, tracker,
                            "utter_reject_height_cm")

    def validate_weight_kg(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._number(value, "weight_kg", 25, 200, dispatcher, tracker,
                            "utter_reject_weight_kg")

    def _number(self, value: Any, slot: str, low: float, high: float,
                dispatcher: CollectingDispatcher, tracker: Tracker, why: str) -> Slots:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return self.reject(dispatcher, tracker, slot, why)
        if not low <= number <= high:
            return self.reject(dispatcher, tracker, slot, why)
        return {slot: f"{number:g}"}


WORN_BY = (("女", re.compile(r"女|老婆|媳妇|妈|闺女|姐|妹")),
           ("男", re.compile(r"男|老公|爸|儿子|哥|弟")))


def worn_by(products: List[Dict[str, Any]], texts: List[str]) -> List[Dict[str, Any]]:
    """The products made for whom the customer's words say (「我160 100斤女生」 -> the
    women's), all of them when the words say nobody or both."""
    said = [word for word, pattern in WORN_BY if any(pattern.search(text) for text in texts)]
    if len(said) != 1:
        return products
    return [product for product in products if said[0] in str(product.get("name"))] or products


async def garments_named(texts: List[str], unnamed: bool = True
                         ) -> Tuple[Optional[str], List[Dict[str, Any]]]:
    """The garment word of the newest text naming one (「这件外套」 → 外套) and the catalogue's
    clothing it covers (all of it for 「衣服」, and for no word when `unnamed`)."""
    word = next((word for text in texts for word in sorted(GARMENT_WORDS, key=len, reverse=True)
                 if word in text), None)
    if word is None and not unnamed:
        return None, []
    try:
        clothing = [product for product in await get_backend().find_products("")
                    if product.get("category") == "clothing"]
    except BackendError:
        clothing = []
    nouns = GARMENT_WORDS.get(word or "", ())
    return word, [product for product in clothing
                  if any(noun in product.get("name", "") for noun in nouns)] or clothing


class ActionAskSizeProduct(Action):
    """Which product? With the clothing that fits the garment the customer named as
    buttons (and the height and weight already given kept, not asked again)."""

    def name(self) -> Text:
        return "action_ask_size_form_size_product"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        texts = [event.get("text") or "" for event in session_user_events(tracker)[:3]]
        word, fitting = await garments_named(texts)
        height, weight = tracker.get_slot("height_cm"), tracker.get_slot("weight_kg")
        kept = part("utter_size_kept", height=height, weight=weight) if height and weight \
            else ""
        which = part("utter_size_which_garment", garment=word) if word and word != "衣服" \
            else part("utter_size_which_product")
        if not fitting:
            dispatcher.utter_message(response="utter_ask_size_product_by_name", kept=kept,
                                     which=which)
            return []
        from actions.orders import said_twice_in_a_row
        buttons = [{"title": product["name"],
                    "payload": f'/inform{{"product":"{product["name"]}"}}'}
                   for product in fitting[:6]]
        if tracker.get_slot("failed_attempts") or \
                said_twice_in_a_row(tracker, "utter_ask_size_product_pick"):
            # Never the same request a third time in a row (issue 16).
            dispatcher.utter_message(response="utter_ask_size_product_again", buttons=buttons)
            return []
        dispatcher.utter_message(response="utter_ask_size_product_pick", kept=kept, which=which,
                                 buttons=buttons)
        return []


class ActionAskHeightCm(Action):
    """One question for both numbers when both are missing; otherwise only the height."""

    def name(self) -> Text:
        return "action_ask_height_cm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("weight_kg"):
            dispatcher.utter_message(response="utter_ask_height_cm")
        else:
            dispatcher.utter_message(response="utter_ask_height_and_weight")
        return []


# 「那XL会不会太大」「L呢」「M码能穿吗」: a size named after the advice.
SIZE_NAMED = re.compile(r"(?<![A-Za-z0-9])([2-5]?X{0,3}[SLM]|\d{2,3})(?:码|号)?(?![A-Za-z0-9])"
                        r"(?!\s*(?:斤|公斤|kg|cm|厘米|岁))", re.IGNORECASE)
ASKS_FIT = re.compile(r"大|小|紧|松|合适|合身|能穿|穿得下|可以吗|行吗|呢|怎么样")


async def size_follow_up(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """How a size the customer names compares with the advice for their build, when the
    conversation has a garment, a height and a weight (the size form's slots) and the latest
    message asks about one of the garment's sizes; None otherwise."""
    product_id = tracker.get_slot("size_product")
    height, weight = tracker.get_slot("height_cm"), tracker.get_slot("weight_kg")
    text = str((tracker.latest_message or {}).get("text") or "")
    named = SIZE_NAMED.search(text)
    if not (product_id and height and weight and named and ASKS_FIT.search(text)):
        return None
    try:
        product = await get_backend().product(product_id)
        sizes = [str(size).upper() for size in (product.get("options") or {}).get("尺码", [])]
        asked = named.group(1).upper()
        if asked not in sizes:
            return None
        advice = await get_backend().size_advice(
            product_id, float(height), float(weight), fit=tracker.get_slot("fit"),
            body_shape=tracker.get_slot("body_shape"))
    except BackendError:
        return None
    recommended = str(advice["size"]).upper()
    values = {"product": f"「{product.get('name')}」", "size": asked, "recommended": recommended,
              "height": height, "weight": weight}
    alternative = next((item for item in advice.get("alternatives") or []
                        if str(item.get("size")).upper() == asked), None)
    if asked == recommended and not advice.get("in_chart", True):
        # 「S会不会很宽松」 for a build below the chart: the nearest size, not 「合身」.
        return part("utter_size_follow_nearest", reason=advice.get("reason", ""), **values)
    if asked == recommended:
        return part("utter_size_follow_same", **values)
    if alternative:
        return part("utter_size_follow_alternative", reason=alternative["reason"], **values)
    if recommended in sizes and sizes.index(asked) > sizes.index(recommended):
        return part("utter_size_follow_larger", **values)
    return part("utter_size_follow_smaller", **values)


class ActionSizeAdvice(Action):
    def name(self) -> Text:
        return "action_size_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        follow_up = await size_follow_up(tracker)
        if follow_up:
            dispatcher.utter_message(**follow_up)
            return [outcome(RESOLVED, f"size:{tracker.get_slot('size_product')}",
                            "size_follow_up", "size_advice", tracker)]
        product = tracker.get_slot("size_product")
        height, weight = tracker.get_slot("height_cm"), tracker.get_slot("weight_kg")
        fit = wanted_fit(tracker)
        kept = [SlotSet("fit", fit)] if fit != tracker.get_slot("fit") else []
        own = await own_size_advice(tracker, fit) if not (height and weight) else None
        if own:
            dispatcher.utter_message(**own, buttons=refine_buttons(fit))
            return [*kept, outcome(RESOLVED, f"size:{product}", "size_from_own_size",
                                   "product", tracker)]
        if tracker.get_slot("failed_attempts") and not (product and height and weight):
            dispatcher.utter_message(response="utter_size_not_settled")
            return [outcome(UNRESOLVED, f"size:{product}", "size_info_missing", "none", tracker)]
        try:
            advice = await get_backend().size_advice(
                product, float(height), float(weight), fit=fit,
                body_shape=tracker.get_slot("body_shape"))
        except NotFound:
            dispatcher.utter_message(response="utter_size_product_not_found")
            return []
        except InvalidRequest as error:
            dispatcher.utter_message(response="utter_backend_message",
                                     problem=error.message.rstrip("。") + "。")
            return []
        except BackendError:
            dispatcher.utter_message(response="utter_size_chart_unavailable")
            return []
        # The chart's own product (the slot `product` may name another one talked about:
        # 「这款和男士轻薄羽绒服比…」 on the women's jacket's page; the seventh probe).
        dispatcher.utter_message(**advice_text(advice, advice.get("product_name") or
                                               tracker.get_slot("product")),
                                 buttons=refine_buttons(fit))
        return [*kept, outcome(RESOLVED, f"size:{product}", "size_advice", "size_advice",
                               tracker)]


def advice_text(advice: Dict[str, Any], product_name: Optional[str]) -> Dict[str, Any]:
    """The size chart's advice (`reason` is the shop's words), with what buyers of a
    similar build chose."""
    feedback: Any = ""
    if advice.get("feedback"):
        item = advice["feedback"][0]
        feedback = part("utter_size_feedback", height=f"{item['height_cm']:g}",
                        weight=f"{item['weight_kg']:g}", size=item["size"], fit=item["fit"])
    return part("utter_size_advice", product=f"「{product_name}」" if product_name else "",
                size=advice["size"], reason=advice.get("reason", ""), feedback=feedback)


def refine_buttons(fit: Optional[str]) -> List[Dict[str, Any]]:
    return [{"title": part(f"utter_button_fit_{key}"), "payload": f'/ask_size{{"fit": "{key}"}}'}
            for key in FITS if key != fit]


# 「我平时穿XL」「一般穿L」「平常都是M码」「穿175/92A的」: the size the customer usually wears
# (entity `size`), after a habit word, or after 穿 in a message that asks nothing about that
# size (「穿XL会不会大」 asks about it: size_follow_up).
HABIT = re.compile(r"(?:平时|平常|一般|通常|日常|习惯|一直|向来|都|常|我是)[^，,。？?！!]{0,4}$")
WEARS = re.compile(r"穿[^，,。？?！!]{0,2}$")
# 号型: height/chest of a top (175/92A), height/waist of trousers (160/66A).
GRADE = re.compile(r"(\d{3})/(\d{2,3})[A-Z]?")
# 「臀围90」「臀围2尺8」: the NLU reads the waist (entity `waist_cm`), not the hip.
HIP = re.compile(r"臀围?\s*(?:(?P<chi>[12一二两])尺(?P<cun>[0-9一二三四五六七八九])?|"
                 r"(?P<cm>\d{2,3}(?:\.\d)?))")
CM_PER_CHI = 100 / 3
# 「里面要穿毛衣」「内搭卫衣」: room for a layer underneath is a loose fit.
LAYERED = re.compile(r"里面.{0,3}[穿搭加套]|内搭|套(?:个|件)?(?:毛衣|卫衣)")
# A body measure may exceed the chart's by this much (stretch, rounding of 尺 and 寸).
LEEWAY_CM = 1


def wanted_fit(tracker: Tracker) -> Optional[str]:
    """The `fit` slot, else loose when a message of this session wears something under."""
    if tracker.get_slot("fit"):
        return tracker.get_slot("fit")
    said = any(LAYERED.search(str(event.get("text") or ""))
               for event in session_user_events(tracker))
    return "loose" if said else None


def own_measures(messages: List[Dict[str, Any]]) -> Dict[str, Any]:
    """What the customer said of their size in these messages (newest first), the newest
    of each: `usual` (「XL」「27」「175/92A」; 「腰围27」 is the trouser size 27), `waist` and
    `hip` (cm)."""
    found: Dict[str, Any] = {}
    for event in reversed(messages):  # oldest first: newer ones overwrite
        text = str(event.get("text") or "")
        for entity in (event.get("parse_data") or {}).get("entities") or []:
            value = str(entity.get("value") or "").upper()
            prefix = text[:int(entity.get("start") or 0)]
            if entity.get("entity") == "size" and (
                    HABIT.search(prefix) or (WEARS.search(prefix) and not ASKS_FIT.search(text))):
                found["usual"] = value
            elif entity.get("entity") == "waist_cm" and value.replace(".", "").isdigit():
                if (entity.get("additional_info") or {}).get("unit") == "inch":
                    found["usual"] = f"{float(value) / 2.54:.0f}"
                else:
                    found["waist"] = float(value)
        hip = HIP.search(text)
        if hip and hip.group("cm"):
            found["hip"] = float(hip.group("cm"))
        elif hip:
            chi, cun = (float(CN_DIGITS.get(digit, digit or 0))
                        for digit in hip.group("chi", "cun"))
            found["hip"] = round((chi + cun / 10) * CM_PER_CHI, 1)
    return found


async def own_size_advice(tracker: Tracker, fit: Optional[str] = None
                          ) -> Optional[Dict[str, Any]]:
    """The advice (utter_message arguments) for the conversation's product from the size
    the customer usually wears or their waist and hip, when its chart reads them; None
    when they said none of those, or the chart has no such size or column."""
    measures = own_measures(session_user_events(tracker))
    product_id = tracker.get_slot("size_product")
    if not measures or not product_id:
        return None
    try:
        product = await get_backend().product(product_id)
    except BackendError:
        return None
    rows = product.get("size_chart") or []
    note = str((product.get("attributes") or {}).get("fit") or "")
    name = f"「{product.get('name')}」"
    if rows and "waist_cm" in rows[0]:
        return size_by_body(rows, measures, fit, name)
    return size_from_usual(rows, measures.get("usual"), fit, note, name)


def _index(rows: List[Dict[str, Any]], size: Optional[str]) -> Optional[int]:
    sizes = [str(row["size"]).upper() for row in rows]
    return sizes.index(size) if size in sizes else None


def size_from_usual(rows: List[Dict[str, Any]], usual: Optional[str], fit: Optional[str],
                    note: str, name: str) -> Optional[Dict[str, Any]]:
    """A top: the usual size (a 号型 is the row whose height range it tops: 175/92A is
    170-175cm), one down when the fit note says it runs large (偏大), one up for 偏小, and
    one more up / down for a loose / fitted wish, at most one size from the usual."""
    grade = GRADE.fullmatch(usual or "")
    if grade:
        height = float(grade.group(1))
        index = next((i for i, row in enumerate(rows)
                      if row["height_cm"][0] < height <= row["height_cm"][1]), None)
        said = part("utter_size_grade", grade=usual, size=rows[index]["size"]) \
            if index is not None else ""
    else:
        index = _index(rows, usual)
        said = part("utter_size_named", size=usual)
    if index is None:
        return None
    lean = {"loose": 1, "fitted": -1}.get(fit or "", 0)
    wanted = max(-1, min(1, lean + (-1 if "偏大" in note else 1 if "偏小" in note else 0)))
    pick = max(0, min(len(rows) - 1, index + wanted))
    change = {0: "utter_size_change_same", 1: "utter_size_change_up",
              -1: "utter_size_change_down"}[pick - index]
    if pick - index != wanted:
        change = "utter_size_change_edge"
    row = rows[pick]
    return {"response": "utter_size_from_usual", "product": name, "size": row["size"],
            "usual": said, "note": note, "change": part(change, size=row["size"]),
            "lean": part(f"utter_size_lean_{fit}") if lean else "",
            "row": part("utter_size_row_top", size=row["size"],
                        height="-".join(f"{value:g}" for value in row["height_cm"]),
                        weight="-".join(f"{value:g}" for value in row["weight_kg"]))}


def size_by_body(rows: List[Dict[str, Any]], measures: Dict[str, Any], fit: Optional[str],
                 name: str) -> Optional[Dict[str, Any]]:
    """Trousers: the smallest size whose waist holds the customer's waist and whose hip
    holds their hip (「腰围2尺2 臀围90」 → 29: the larger of the two), or their usual
    waist size; one up for a loose wish, never smaller than the body."""
    grade = GRADE.fullmatch(measures.get("usual") or "")
    waist = float(grade.group(2)) if grade else measures.get("waist")
    reasons, picks, beyond = [], [], False
    for key, body, response in (("waist_cm", waist, "utter_size_by_waist"),
                                ("hip_cm", measures.get("hip"), "utter_size_by_hip")):
        if body is None:
            continue
        index = next((i for i, row in enumerate(rows) if row[key] >= body - LEEWAY_CM), None)
        if index is None:  # larger than the largest size: that one, said so
            beyond, index, response = True, len(rows) - 1, f"{response}_over"
        picks.append(index)
        reasons.append(part(response, cm=f"{body:g}", size=rows[index]["size"],
                            chart=f"{rows[index][key]:g}"))
    usual = _index(rows, measures.get("usual"))
    if usual is not None and waist is None:
        picks.append(usual)
        reasons.append(part("utter_size_named_usual", size=rows[usual]["size"]))
    if not picks:
        return None
    pick = max(picks)
    loose = fit == "loose" and pick + 1 < len(rows)
    row = rows[pick + 1 if loose else pick]
    return {"response": "utter_size_from_body", "product": name, "size": row["size"],
            "why": joined(reasons, "utter_separator_list"),
            "larger": part("utter_size_take_larger") if len(set(picks)) > 1 else "",
            "lean": part("utter_size_lean_loose_up") if loose else "",
            "beyond": part("utter_size_beyond_chart") if beyond else "",
            "row": part("utter_size_row_bottom", size=row["size"], waist=f"{row['waist_cm']:g}",
                        hip=f"{row['hip_cm']:g}", length=f"{row['length_cm']:g}")}
