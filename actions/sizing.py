"""Size advice: product, height and weight (asking only for what is missing), then the
size the product's size chart gives, why, and what buyers of a similar build chose."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError, InvalidRequest, NotFound, get_backend
from actions.common import PRODUCT_ID, session_user_events
from actions.forms import RetryingFormValidation, Slots
from actions.outcomes import RESOLVED, UNRESOLVED, outcome

logger = logging.getLogger(__name__)

FIT_WORDS = {"loose": "宽松", "fitted": "修身"}
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


class ValidateSizeForm(RetryingFormValidation):
    def name(self) -> Text:
        return "validate_size_form"

    # A message about something else (「我买的羽绒服什么时候到啊」 while asked which product)
    # gives the form nothing: the form steps aside and that request is handled instead.
    failing_intents = frozenset({"inform", "ask_size", "nlu_fallback", "out_of_scope",
                                 "affirm", "deny"})

    async def extract_size_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if tracker.get_slot("size_product"):
            return {}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent not in SIZE_ANSWER_INTENTS:
            return {}  # a form takes no value from a message about something else
        named = next((entity.get("value") for entity in
                      (tracker.latest_message or {}).get("entities", [])
                      if entity.get("entity") == "product"), None)
        chosen = page_product(tracker) or named
        if chosen is None and tracker.get_slot("requested_slot") == "size_product":
            chosen = (tracker.latest_message or {}).get("text")
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
            dispatcher.utter_message(text="商品信息暂时查不到,请稍后再试一次哦。")
            return {"size_product": None}
        clothing = [product for product in found if product.get("category") == "clothing"]
        if not clothing:
            return self.reject(dispatcher, tracker, "size_product",
                               f"没找到叫「{text}」的服装哦,可以发一下完整的商品名吗?"
                               "比如「纯棉圆领T恤」。")
        return {"size_product": clothing[0]["id"], "product": clothing[0]["name"]}

    def validate_height_cm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._number(value, "height_cm", 80, 230, dispatcher, tracker,
                            "身高好像不太对哦,可以这样发:175 或 1米75。")

    def validate_weight_kg(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._number(value, "weight_kg", 25, 200, dispatcher, tracker,
                            "体重好像不太对哦,可以这样发:70公斤 或 140斤。")

    def _number(self, value: Any, slot: str, low: float, high: float,
                dispatcher: CollectingDispatcher, tracker: Tracker, why: str) -> Slots:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return self.reject(dispatcher, tracker, slot, why)
        if not low <= number <= high:
            return self.reject(dispatcher, tracker, slot, why)
        return {slot: f"{number:g}"}


class ActionAskSizeProduct(Action):
    """Which product? With the clothing that fits the garment the customer named as
    buttons (and the height and weight already given kept, not asked again)."""

    def name(self) -> Text:
        return "action_ask_size_form_size_product"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        texts = [event.get("text") or "" for event in session_user_events(tracker)[:3]]
        word = next((word for text in texts for word in sorted(GARMENT_WORDS, key=len,
                                                                reverse=True) if word in text),
                    None)
        try:
            clothing = [product for product in await get_backend().find_products("")
                        if product.get("category") == "clothing"]
        except BackendError:
            clothing = []
        nouns = GARMENT_WORDS.get(word or "", ())
        fitting = [product for product in clothing
                   if any(noun in product.get("name", "") for noun in nouns)] or clothing
        height, weight = tracker.get_slot("height_cm"), tracker.get_slot("weight_kg")
        kept = f"身高{height}cm、体重{weight}kg我记下了~ " if height and weight else ""
        which = f"您问的是哪件{word}呢?" if word and word != "衣服" else "您想了解哪款商品的尺码呢?"
        if not fitting:
            dispatcher.utter_message(
                text=f"{kept}{which}发一下商品名就好,比如「纯棉圆领T恤」。")
            return []
        from actions.orders import said_twice_in_a_row
        buttons = [{"title": product["name"],
                    "payload": f'/inform{{"product":"{product["name"]}"}}'}
                   for product in fitting[:6]]
        text = f"{kept}{which}点选一下,或者发商品名给我:"
        if tracker.get_slot("failed_attempts") or said_twice_in_a_row(tracker, text):
            # Never the same request a third time in a row (issue 16).
            text = ("还没确定是哪款商品哦~ 点选下面的商品,或者发商品名;"
                    "不需要尺码建议的话,直接问别的问题就好。")
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionAskHeightCm(Action):
    """One question for both numbers when both are missing; otherwise only the height."""

    def name(self) -> Text:
        return "action_ask_height_cm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("weight_kg"):
            dispatcher.utter_message(text="您的身高大概多少呢?比如 175 或 1米75。")
        else:
            dispatcher.utter_message(
                text="方便告诉我您的身高和体重吗?比如「175 70公斤」或「1米6 九十斤」。")
        return []


class ActionSizeAdvice(Action):
    def name(self) -> Text:
        return "action_size_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        product = tracker.get_slot("size_product")
        height, weight = tracker.get_slot("height_cm"), tracker.get_slot("weight_kg")
        if tracker.get_slot("failed_attempts") and not (product and height and weight):
            dispatcher.utter_message(text="抱歉没能帮您确定尺码,可以发「转人工」让客服帮您看看。")
            return [outcome(UNRESOLVED, f"size:{product}", "size_info_missing", "none", tracker)]
        fit = tracker.get_slot("fit")
        try:
            advice = await get_backend().size_advice(
                product, float(height), float(weight), fit=fit,
                body_shape=tracker.get_slot("body_shape"))
        except NotFound:
            dispatcher.utter_message(text="没找到这款商品,可以发一下完整的商品名吗?")
            return []
        except InvalidRequest as error:
            dispatcher.utter_message(text=error.message.rstrip("。") + "。")
            return []
        except BackendError:
            dispatcher.utter_message(text="尺码表暂时查不到,请稍后再试一次哦。")
            return []
        dispatcher.utter_message(text=advice_text(advice, tracker.get_slot("product")),
                                 buttons=refine_buttons(fit))
        return [outcome(RESOLVED, f"size:{product}", "size_advice", "size_advice", tracker)]


def advice_text(advice: Dict[str, Any], product_name: Optional[str]) -> str:
    head = f"「{product_name}」" if product_name else ""
    text = f"{head}建议选{advice['size']}码:{advice.get('reason', '')}。"
    feedback = advice.get("feedback") or []
    if feedback:
        item = feedback[0]
        text += (f"参考:{item['height_cm']:g}cm/{item['weight_kg']:g}kg 的买家选了{item['size']}码,"
                 f"反馈{item['fit']}。")
    return text


def refine_buttons(fit: Optional[str]) -> List[Dict[str, str]]:
    return [{"title": f"想穿{word}一点", "payload": f'/ask_size{{"fit": "{key}"}}'}
            for key, word in FIT_WORDS.items() if key != fit]
