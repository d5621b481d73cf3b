"""After-sales logic against the running demo shop: policy, eligibility, photos, creation."""

from __future__ import annotations

import asyncio
import base64
import re
import sys
from pathlib import Path

import pytest
from action_helpers import admin_proof, delivered, make_tracker, texts
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.backend as backend_module
from actions import aftersales
from service_common.config import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shop"))
from shop_api_helpers import png  # noqa: E402  (tiny real images)

JACKET_AND_POWERBANK = "361204587712340021"  # 赵磊, delivered 2 days ago
OLD = "361204587712340023"  # delivered 21 days ago
IN_TRANSIT = "361204587712340001"


def run(coroutine_factory):
    async def go():
        backend_module._backend = None
        try:
            return await coroutine_factory()
        finally:
            await backend_module.get_backend().close()
            backend_module._backend = None
    return asyncio.run(go())


def order(order_id: str) -> dict:
    return run(lambda: backend_module.get_backend().order(order_id, admin_proof(order_id)))


def with_photo(url: str):
    # Photos are filed under the order: the tracker holds its ownership proof.
    tracker = make_tracker({"verified_order_id": JACKET_AND_POWERBANK}, sender="demo-zhao")
    tracker.events[0]["metadata"] = {"attachments": [{"type": "image", "url": url}]}
    return tracker


def test_policy_file_and_keywords() -> None:
    policy = aftersales.policy()
    assert policy.reason_in(["收到的电饭煲外壳摔坏了"]).code == "damaged"
    # The fifth probe's parcels (a menu of reasons came back instead).
    for text in ("电饭煲收到箱子都压烂了 锅也凹了一块", "收到的电饭煲是坏的 箱子都压扁了"):
        assert policy.reason_in([text]).code == "damaged", text
    assert policy.reason_in(["充电宝充不进电,质量太差"]).code == "quality"
    assert policy.reason_in(["我不想要了"]).code == "no_reason_7d"
    assert policy.reason_in(["你好"]) is None


@pytest.mark.parametrize("text, news", [
    ("收到了但是少了一件", aftersales.PART_MISSING),
    ("只收到一个 少发了一件", aftersales.PART_MISSING),
    ("包裹里少了个配件", aftersales.PART_MISSING),
    ("只收到一个 另一个没收到", aftersales.PART_MISSING),
    ("快递显示签收了 但是少了一件 充电器没收到", aftersales.PART_MISSING),
    ("还有一件没收到", aftersales.PART_MISSING),
    ("显示签收了但是我没收到", aftersales.PARCEL_NOT_RECEIVED),
    ("不是我签的", aftersales.PARCEL_NOT_RECEIVED),
    ("我没收到 是不是漏发了", aftersales.PARCEL_NOT_RECEIVED),  # nothing came
    ("另一个订单没收到", aftersales.PARCEL_NOT_RECEIVED),
    ("买了多少个", None), ("到哪了", None),
])
def test_an_item_short_in_a_parcel_is_told_from_a_parcel_never_received(text, news) -> None:
    assert aftersales.parcel_news(text) == news
    reason = aftersales.missing_item_reason([text])
    assert (reason.code if reason else None) == \
        ("missing_item" if news == aftersales.PART_MISSING else None)


def test_policy_mistakes_name_the_file(tmp_path) -> None:
    bad = tmp_path / "aftersales.yml"
    bad.write_text("return_address: x\nno_reason_days: 7\nafter_sale_days: 15\n"
                   "send_back_days: 7\nrefund_time: 3天\n"
                   "reasons:\n  broken:\n    label: 坏\n    kind: repair\n    needs_photo: false\n"
                   "    shipping: seller\n    keywords: [坏]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(
            f"{bad}:9: reasons.broken.kind: unexpected value; permitted: 'return'")):
        aftersales.load_policy(bad)


def test_eligibility(run_action) -> None:
    reasons = aftersales.policy().reasons

    def said(problem):  # the response as the customer reads it
        return delivered([problem], {})[0]["text"]

    assert "签收后" in said(aftersales.eligibility_problem(order(IN_TRANSIT), reasons["quality"]))
    # 21 days after delivery: past the 15-day after-sales period, whatever the reason; the
    # customer hears the way that is left (warranty, a human) before any photo is asked for.
    old = order(OLD)
    for reason in ("no_reason_7d", "quality"):
        problem = aftersales.eligibility_problem(old, reasons[reason])
        assert "已经过了15天的售后期" in said(problem) and "保修" in said(problem), reason
    buttons = delivered([aftersales.state_problem(old)], {})[0]["buttons"]
    assert buttons == [{"title": "转人工", "payload": "/request_human"}]
    from actions.forms import aftersale_slots
    tracker = make_tracker({"order_task": "quality"}, sender="demo-zhao")
    assert aftersale_slots(old, tracker) == ["order_id"]  # no reason, no photo asked for
    # Within the period but past the 7 days without reason (the shop's dates, moved).
    within = {**old, "after_sale_until": "2999-01-01T00:00:00+08:00"}
    assert "超过7天无理由" in said(aftersales.eligibility_problem(within,
                                                              reasons["no_reason_7d"]))
    assert aftersales.eligibility_problem(within, reasons["quality"]) is None
    assert aftersales.eligibility_problem(order(JACKET_AND_POWERBANK),
                                          reasons["no_reason_7d"]) is None


def test_photos_are_stored_and_other_files_refused(run_action) -> None:
    url = f"data:image/png;base64,{base64.b64encode(png()).decode()}"
    ids = run(lambda: aftersales.store_evidence(with_photo(url), JACKET_AND_POWERBANK))
    assert len(ids) == 1 and ids[0].isdigit()
    pdf = f"data:image/png;base64,{base64.b64encode(b'%PDF-1.4 fake').decode()}"
    with pytest.raises(aftersales.AttachmentRejected, match="utter_photo_refused"):
        run(lambda: aftersales.store_evidence(with_photo(pdf), JACKET_AND_POWERBANK))
    with pytest.raises(aftersales.AttachmentRejected, match="utter_photo_link_unusable"):
        run(lambda: aftersales.store_evidence(with_photo("file:///etc/passwd"),
                                              JACKET_AND_POWERBANK))


def test_quality_return_is_created_with_the_next_step(run_action) -> None:
    url = f"data:image/png;base64,{base64.b64encode(png(seed=3)).decode()}"
    photo = run(lambda: aftersales.store_evidence(with_photo(url), JACKET_AND_POWERBANK))
    tracker = make_tracker({"aftersale_reason": "quality", "aftersale_item": "20000毫安充电宝",
                            "evidence": photo, "order_task": "quality",
                            "verified_order_id": JACKET_AND_POWERBANK}, sender="demo-zhao")
    dispatcher = CollectingDispatcher()
    current = order(JACKET_AND_POWERBANK)
    events = run(lambda: aftersales.handle(current, tracker, dispatcher))
    said = texts(delivered(dispatcher.messages, {}))
    assert "退货申请已提交(售后单号AS" in said and aftersales.policy().return_address in said
    assert "运费由我们承担" in said
    assert {"event": "slot", "name": "aftersale_reason", "value": None, "timestamp": None} in \
        events


def test_other_items_of_an_order_in_return_still_get_help(shop_factory, monkeypatch) -> None:
    from action_helpers import run_directly

    from actions.forms import ValidateOrderForm

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files after-sales
    run(lambda: backend_module.get_backend().create_after_sale(JACKET_AND_POWERBANK, {
        "kind": "return", "item": "20000毫安充电宝", "reason_code": "quality"},
        admin_proof(JACKET_AND_POWERBANK)))
    assert order(JACKET_AND_POWERBANK)["status"] == "return_requested"
    slots = {"order_id": JACKET_AND_POWERBANK, "verified_order_id": JACKET_AND_POWERBANK,
             "customer_id": "C0061", "order_task": "quality"}
    # The power bank is already being returned: nothing more to ask, the answer says so.
    busy = make_tracker({**slots, "aftersale_item": "20000毫安充电宝"}, sender="demo-zhao")
    _, events = run_directly(ValidateOrderForm(), busy)
    assert {"event": "slot", "name": "requested_slot", "value": None} in \
        [{k: e.get(k) for k in ("event", "name", "value")} for e in events]
    returning = order(JACKET_AND_POWERBANK)
    dispatcher = CollectingDispatcher()
    run(lambda: aftersales.handle(returning, busy, dispatcher))
    assert "「20000毫安充电宝」已经在售后处理中了" in texts(delivered(dispatcher.messages, {}))
    # The jacket of the same order can still be exchanged for another size.
    jacket = make_tracker({**slots, "order_task": "exchange", "aftersale_reason": "size",
                           "aftersale_item": "男士轻薄羽绒服"}, sender="demo-zhao")
    jacket.events[0]["text"] = "羽绒服小了 能换个大一码不"
    dispatcher = CollectingDispatcher()
    run(lambda: aftersales.handle(returning, jacket, dispatcher))
    assert "换货申请已提交(售后单号" in texts(delivered(dispatcher.messages, {}))
    # The shop's record says what to send instead.
    records = run(lambda: backend_module.get_backend().after_sales(
        JACKET_AND_POWERBANK, admin_proof(JACKET_AND_POWERBANK)))
    assert [r["reason"] for r in records if r["kind"] == "exchange"] == ["尺码不合适,换大一码"]


def test_an_exchange_for_another_colour_asks_which_colour(shop_factory, monkeypatch) -> None:
    """「羽绒服想换个颜色」 was asked for a reason none of the buttons fits, and 「换黑色」 then got
    「这个问题刚才已经回复过了」 (the sixth probe): a colour the customer prefers is the seven
    days' reason, the colour is asked for, and it is filed as an exchange."""
    from action_helpers import run_directly

    from actions.forms import ValidateOrderForm

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files an after-sale
    slots = {"order_id": JACKET_AND_POWERBANK, "verified_order_id": JACKET_AND_POWERBANK,
             "customer_id": "C0061", "order_task": "exchange", "aftersale_item": "男士轻薄羽绒服"}

    def form(text: str, **more) -> dict:
        made = make_tracker({**slots, **more}, sender="demo-zhao")
        made.events[0]["text"] = text
        return {e["name"]: e["value"] for e in run_directly(ValidateOrderForm(), made)[1]
                if e.get("event") == "slot"}

    asked = form("羽绒服想换个颜色")
    assert asked["aftersale_reason"] == "no_reason_7d" and asked["requested_slot"] == "exchange_to"
    # 「换黑色」 alone (while the reason was asked): the colour says both.
    said = form("换黑色")
    assert said["aftersale_reason"] == "no_reason_7d" and said["requested_slot"] == "confirmed"
    # A size alone says the size reason; a reason the customer names is kept.
    assert form("换XL")["aftersale_reason"] == "size"
    assert form("质量不好 换个白色的")["aftersale_reason"] == "quality"
    # The seventh probe: a colour name of the catalogue, with 「尺码不变」 (no size problem).
    named = form("我想把羽绒服换个颜色 藏青换成曜石黑 尺码不变")
    assert named["aftersale_reason"] == "no_reason_7d" and named["requested_slot"] == "confirmed"

    def answer(text: str) -> dict:
        made = make_tracker({**slots, "aftersale_reason": "no_reason_7d"}, sender="demo-zhao",
                            requested_slot="exchange_to", latest_message={
                                "intent": {"name": "deny" if text == "再想想" else "inform"},
                                "entities": [], "text": text})
        made.events[0]["text"] = "羽绒服想换个颜色"
        return {e["name"]: e["value"] for e in run_directly(ValidateOrderForm(), made)[1]
                if e.get("event") == "slot"}

    assert answer("曜石黑 L码")["exchange_to"] == "曜石黑 L码"
    assert answer("燕麦白吧")["exchange_to"] == "燕麦白"
    # 「再想想」 while asked which colour: nothing filed, no question again.
    kept = answer("再想想")
    assert kept["confirmed"] is False and kept["requested_slot"] is None, kept
    # A return names no colour to send instead: nothing is asked about it.
    assert form("不想要了", order_task="return")["requested_slot"] == "confirmed"
    # Filed as an exchange, with the colour.
    dispatcher = CollectingDispatcher()
    chosen = make_tracker({**slots, "aftersale_reason": "no_reason_7d", "exchange_to": "黑色",
                           "confirmed": True}, sender="demo-zhao")
    chosen.events[0]["text"] = "好的"
    current = order(JACKET_AND_POWERBANK)
    run(lambda: aftersales.handle(current, chosen, dispatcher))
    assert "换货申请已提交(售后单号" in texts(delivered(dispatcher.messages, {}))
    records = run(lambda: backend_module.get_backend().after_sales(
        JACKET_AND_POWERBANK, admin_proof(JACKET_AND_POWERBANK)))
    assert [(r["kind"], r["reason"]) for r in records] == [("exchange", "七天无理由,换黑色")]


def test_the_colour_question_is_asked_for_a_colour_exchange() -> None:
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)

    def asked(reason: str) -> str:
        tracker = DialogueStateTracker.from_events(
            "t", [SlotSet("aftersale_reason", reason)], slots=domain.slots)
        return asyncio.run(nlg.generate("utter_ask_exchange_to", tracker, "rest"))["text"]

    assert asked("no_reason_7d").startswith("想换成什么颜色呢?")
    assert asked("size").startswith("想换成什么尺码呢?")


def test_the_order_number_sent_again_after_filing_asks_nothing(shop_factory, monkeypatch) -> None:
    """After 「换货申请已提交」 the order number sent again started the questions again
    (「是订单里的哪件商品呢?」 twice, then 「这个问题刚才已经回复过了」; the sixth probe)."""
    from action_helpers import run_directly

    from actions.forms import ValidateOrderForm

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files an after-sale
    slots = {"order_id": JACKET_AND_POWERBANK, "verified_order_id": JACKET_AND_POWERBANK,
             "customer_id": "C0061", "order_task": "exchange", "aftersale_reason": "size",
             "aftersale_item": "男士轻薄羽绒服", "exchange_to": "XL", "confirmed": True}
    dispatcher = CollectingDispatcher()
    filing = make_tracker(slots, sender="demo-zhao")
    filing.events[0]["text"] = "羽绒服小了 换XL"
    current = order(JACKET_AND_POWERBANK)
    filed_events = run(lambda: aftersales.handle(current, filing, dispatcher))
    filed = [{"event": "slot", "name": e["name"], "value": e["value"]} for e in filed_events]

    def again(text: str, events: list) -> Tracker:
        made = make_tracker({"order_id": JACKET_AND_POWERBANK,
                             "verified_order_id": JACKET_AND_POWERBANK, "customer_id": "C0061",
                             "order_task": "exchange"}, sender="demo-zhao",
                            latest_message={"intent": {"name": "inform"}, "entities": [],
                                            "text": text})
        made.events = [{"event": "session_started"}, *events,
                       {"event": "user", "text": text}]
        return made

    def asks(tracker: Tracker) -> object:
        return {e["name"]: e["value"] for e in run_directly(ValidateOrderForm(), tracker)[1]
                if e.get("event") == "slot"}.get("requested_slot")

    resent = again(JACKET_AND_POWERBANK, filed)
    assert asks(resent) is None
    dispatcher = CollectingDispatcher()
    run(lambda: aftersales.handle(current, resent, dispatcher))
    said = texts(delivered(dispatcher.messages, {}))
    assert "这个订单的换货申请已经在处理了(售后单号AS" in said and "不用重复提交" in said
    # Without a filing in this session, or with more words, it is a request as before.
    assert asks(again(JACKET_AND_POWERBANK, [])) == "aftersale_reason"
    assert aftersales.filed_before(again(f"{JACKET_AND_POWERBANK} 充电宝也坏了", filed)) is False


def test_a_size_exchange_asks_which_size_when_not_said(shop_factory, monkeypatch) -> None:
    from action_helpers import run_directly

    from actions.forms import ValidateOrderForm
    from actions.orders import ActionAskConfirmed

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files an after-sale
    slots = {"order_id": JACKET_AND_POWERBANK, "verified_order_id": JACKET_AND_POWERBANK,
             "customer_id": "C0061", "order_task": "exchange", "aftersale_reason": "size",
             "aftersale_item": "男士轻薄羽绒服"}

    def form(tracker):
        said, events = run_directly(ValidateOrderForm(), tracker)
        return texts(said), {e["name"]: e["value"] for e in events if e.get("event") == "slot"}

    asked = make_tracker(slots, sender="demo-zhao")
    asked.events[0]["text"] = "羽绒服小了 想换货"
    assert form(asked)[1]["requested_slot"] == "exchange_to"
    # Said at once: not asked; the customer pays the postage, so the yes is asked first.
    said_it = make_tracker(slots, sender="demo-zhao")
    said_it.events[0]["text"] = "羽绒服小了 换个L码的"
    assert form(said_it)[1]["requested_slot"] == "confirmed"
    said, _ = run_directly(ActionAskConfirmed(), said_it)
    assert "「尺码不合适」的话,给您换货(换L码):寄回后仓库换新发出,运费需要您承担" in texts(said)
    # 「换L」 while the yes is asked: the size taken, asked again with it (not counted).
    other_size = make_tracker(slots, sender="demo-zhao", requested_slot="confirmed",
                              latest_message={"intent": {"name": "inform"}, "entities": [],
                                              "text": "换L"})
    other_size.events[0]["text"] = "羽绒服小了 换个XL码的"
    said, changed = form(other_size)
    assert changed["exchange_to"] == "L" and changed["requested_slot"] == "confirmed", changed
    assert not changed.get("failed_attempts"), changed
    other_size.slots["exchange_to"] = "L"
    said, _ = run_directly(ActionAskConfirmed(), other_size)
    assert "给您换货(换L):寄回后仓库换新发出" in texts(said), texts(said)
    # 「已经寄回了」 while the yes is asked: it is on its way, so yes.
    sent = make_tracker(slots, sender="demo-zhao", requested_slot="confirmed",
                        latest_message={"intent": {"name": "inform"}, "entities": [],
                                        "text": "已经寄回了"})
    sent.events[0]["text"] = "羽绒服小了 换个L码的"
    assert form(sent)[1]["confirmed"] is True
    said_it.slots["confirmed"] = True
    assert form(said_it)[1]["requested_slot"] is None
    # A size answers; anything else is explained once and counted as a failed turn.
    answer = make_tracker(slots, sender="demo-zhao", requested_slot="exchange_to",
                          latest_message={"intent": {"name": "inform"}, "entities": [],
                                          "text": "要XL的吧"})
    assert form(answer)[1]["exchange_to"] == "XL"
    other = make_tracker(slots, sender="demo-zhao", requested_slot="exchange_to",
                         latest_message={"intent": {"name": "inform"}, "entities": [],
                                         "text": "随便吧"})
    said, changed = form(other)
    assert "没看出要换的尺码或颜色" in said and changed["failed_attempts"] == 1
    # The record and the answer name the size.
    jacket = make_tracker({**slots, "exchange_to": "XL"}, sender="demo-zhao")
    dispatcher = CollectingDispatcher()
    current = order(JACKET_AND_POWERBANK)
    run(lambda: aftersales.handle(current, jacket, dispatcher))
    assert "换货申请已提交(售后单号" in texts(delivered(dispatcher.messages, {}))
    assert ",换XL。" in texts(delivered(dispatcher.messages, {}))
    records = run(lambda: backend_module.get_backend().after_sales(
        JACKET_AND_POWERBANK, admin_proof(JACKET_AND_POWERBANK)))
    assert [r["reason"] for r in records] == ["尺码不合适,换XL"]
    # Asked again (another chat, a double tap): the open exchange's number and state, not
    # the shop's own 「请勿重复提交」, and nothing filed twice.
    dispatcher = CollectingDispatcher()
    current = order(JACKET_AND_POWERBANK)
    events = run(lambda: aftersales.handle(current, jacket, dispatcher))
    said = texts(delivered(dispatcher.messages, {}))
    filed = records[0]
    assert f"换货申请已经在处理了(售后单号{filed['ticket_no']},{filed['status_text']})" \
        in said, said
    assert "请勿" not in said
    assert [e["value"]["reason"] for e in events if e.get("name") == "outcome"] == [
        "after_sales_exists"]
    assert len(run(lambda: backend_module.get_backend().after_sales(
        JACKET_AND_POWERBANK, admin_proof(JACKET_AND_POWERBANK)))) == 1


@pytest.mark.parametrize("text, target", [
    ("XL", "XL"), ("要大一码的", "大一码"), ("42", "42码"), ("白色吧", "白色"), ("l码", "L码"),
    ("all", None), ("不知道", None), ("换个大一号", "大一号"),
])
def test_the_size_in_an_answer(text: str, target) -> None:
    assert aftersales.target_answered(text) == target


@pytest.mark.parametrize("text, wanted", [
    ("能换个大一码不", "大一码"), ("换XL", "XL"), ("换成白色的", "白色"), ("换42码的", "42码"),
    ("想换一件m码", "M码"), ("换货", None), ("换个地址", None), ("换个颜色", None),
])
def test_what_an_exchange_should_bring(text: str, wanted) -> None:
    assert aftersales.wanted_in([text]) == wanted


def test_a_photo_link_without_a_size_is_cut_off_at_10_mb(run_action, monkeypatch) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()  # no Content-Length: the body ends when the server closes
            try:
                self.wfile.write(png() + b"\x00" * (11 * 1024 * 1024))
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.handle_request, daemon=True).start()
    # An allowed media host that happens to be internal (ATTACHMENT_INTERNAL_HOSTS).
    monkeypatch.setenv("ATTACHMENT_HOSTS", "localhost")
    monkeypatch.setenv("ATTACHMENT_INTERNAL_HOSTS", "localhost")
    url = f"http://localhost:{server.server_address[1]}/photo.png"
    try:
        with pytest.raises(aftersales.AttachmentRejected, match="utter_photo_too_big"):
            run(lambda: aftersales.store_evidence(with_photo(url), JACKET_AND_POWERBANK))
    finally:
        server.server_close()


def test_the_item_the_customer_named() -> None:
    order = {"items": [{"name": "男士轻薄羽绒服"}, {"name": "20000毫安充电宝"}]}
    assert aftersales.item_in(order, ["充电宝充不进电,质量有问题"]) == "20000毫安充电宝"
    assert aftersales.item_in(order, ["羽绒服跑毛"]) == "男士轻薄羽绒服"
    assert aftersales.item_in(order, ["东西坏了"]) is None


def test_the_bot_applies_the_windows_of_the_shop_it_talks_to(shop_factory, tmp_path,
                                                             monkeypatch) -> None:
    """The shop reads its windows from the policy file; the bot asks the shop. A shop whose
    policy allows 25 days without reason takes a return 21 days after delivery, and the bot,
    whose own copy of the file still says 7, agrees and files it."""
    policy = tmp_path / "aftersales.yml"
    policy.write_text(aftersales.POLICY_FILE.read_text(encoding="utf-8")
                      .replace("no_reason_days: 7 ", "no_reason_days: 25")
                      .replace("after_sale_days: 15", "after_sale_days: 30"), encoding="utf-8")
    monkeypatch.setenv("SHOP_API_URL", shop_factory(env={"SHOP_POLICY_FILE": str(policy)}).url)
    no_reason = aftersales.policy().reasons["no_reason_7d"]
    current = order(OLD)
    assert aftersales.eligibility_problem(current, no_reason) is None
    tracker = make_tracker({"aftersale_reason": "no_reason_7d", "order_task": "return",
                            "verified_order_id": OLD}, sender="demo-zhao")
    dispatcher = CollectingDispatcher()
    run(lambda: aftersales.handle(current, tracker, dispatcher))
    assert "退货申请已提交(售后单号" in texts(delivered(dispatcher.messages, {}))
    assert order(OLD)["status"] == "return_requested"
    shop_rules = run(lambda: backend_module.get_backend().policy())
    assert (shop_rules["no_reason_days"], shop_rules["after_sale_days"]) == (25, 30)


def test_the_default_shop_refuses_what_the_bot_refuses(run_action) -> None:
    """The shop started with the project's policy file: past its periods both say no."""
    no_reason = aftersales.policy().reasons["no_reason_7d"]
    problem = aftersales.eligibility_problem(order(OLD), no_reason)
    assert "已经过了15天的售后期" in delivered([problem], {})[0]["text"]
    with pytest.raises(backend_module.Conflict, match="已超过签收后"):
        run(lambda: backend_module.get_backend().create_after_sale(OLD, {
            "kind": "return", "reason_code": "no_reason_7d", "reason": "不想要了"},
            admin_proof(OLD)))


def test_a_request_about_another_item_is_no_answer_for_this_one(shop_factory,
                                                                 monkeypatch) -> None:
    # 「羽绒服有点小 能换大一码吗」, the jacket order confirmed, then 「另外那件卫衣也想退了
    # 洗过一次 能七天无理由吗」: a no-reason return of the jacket had been filed.
    from action_helpers import run_directly

    from actions.forms import ValidateOrderForm

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)
    text = "另外那件卫衣也想退了 洗过一次 能七天无理由吗"
    latest = {"intent": {"name": "request_return", "confidence": 0.9}, "text": text,
              "entities": [{"entity": "product", "value": "运动连帽卫衣"}]}
    slots = {"order_id": JACKET_AND_POWERBANK, "verified_order_id": JACKET_AND_POWERBANK,
             "customer_id": "C0061", "order_task": "return"}
    tracker = make_tracker(slots, sender="demo-zhao", requested_slot="aftersale_reason",
                           latest_message=latest)
    tracker.events[0].update(text=text, parse_data=latest)
    tracker.events.insert(0, {"event": "slot", "name": "order_task", "value": "exchange"})
    tracker.events.append({"event": "slot", "name": "order_task", "value": "return"})
    said, events = run_directly(ValidateOrderForm(), tracker)
    assert "「运动连帽卫衣」不在这个订单里" in texts(delivered(said, {}))
    slots_set = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots_set["order_task"] == "exchange" and "aftersale_reason" not in slots_set
    assert slots_set["requested_slot"] == "aftersale_reason"  # its own question again
    assert run(lambda: backend_module.get_backend().after_sales(
        JACKET_AND_POWERBANK, admin_proof(JACKET_AND_POWERBANK))) == []
    # Its 「七天无理由」 is no reason for the jacket later either; the jacket's own words are.
    reason = run(lambda: ValidateOrderForm().extract_aftersale_reason(
        CollectingDispatcher(), tracker, {}))
    assert reason == {}
    tracker.events.insert(1, {"event": "user", "text": "羽绒服穿着有点小 能换大一码吗",
                              "parse_data": {"entities": [{"entity": "product",
                                                           "value": "羽绒服"}]}})
    tracker.slots["order_task"] = "exchange"
    reason = run(lambda: ValidateOrderForm().extract_aftersale_reason(
        CollectingDispatcher(), tracker, {}))
    assert reason == {"aftersale_reason": "size"}


def test_the_photo_is_asked_for_once_with_why_or_a_later_promise_accepted() -> None:
    """「没拍照 能直接退吗」 and 「照片等下发你」 after the photo request (the fourth probe): not
    the same request word for word."""
    slots = {"order_task": "quality", "aftersale_reason": "quality"}

    def said(text: str) -> str:
        tracker = make_tracker(slots, latest_message={"text": text, "entities": [],
                                                      "intent": {"name": "inform"}})
        dispatcher = CollectingDispatcher()
        asyncio.run(aftersales.ActionAskEvidence().run(dispatcher, tracker, {}))
        return texts(delivered(dispatcher.messages, tracker.slots))

    assert "问题部位和商品批号标签的照片发给我" in said("好的")
    why = said("没拍照 能直接退吗")
    assert "「质量问题」需要一张" in why and "转人工" in why, why
    assert "不着急" in said("照片等下发你")


@pytest.mark.parametrize("text, reason, remedy", [
    ("充电宝充不进电 给我换个新的", "quality", "exchange"),
    ("不要退款 换个新的", "quality", "exchange"),
    ("换新还是退货呢 算了还是退货吧", "quality", "return"),
    ("杯子碎了 补发一个吧", "damaged", "resend"),
    ("杯子碎了 直接退款吧", "damaged", "return"),
    ("杯子碎了 怎么办", "damaged", None),
    ("发错货了 换成我买的那个", "wrong_item", "exchange"),
    ("尺码小了 退货", "size", None),  # the customer's own reason: the policy's way
    ("少发了一件 退钱", "missing_item", None),
])
def test_the_remedy_the_customer_asked_for(text: str, reason: str, remedy) -> None:
    assert aftersales.remedy_in([text], aftersales.policy().reasons[reason]) == remedy


def test_a_reported_fault_asks_how_to_put_it_right(shop_factory, monkeypatch) -> None:
    from action_helpers import run_directly

    from actions.forms import ValidateOrderForm

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files an after-sale
    slots = {"order_id": JACKET_AND_POWERBANK, "verified_order_id": JACKET_AND_POWERBANK,
             "customer_id": "C0061", "order_task": "quality", "aftersale_reason": "quality",
             "aftersale_item": "20000毫安充电宝"}

    def form(text, requested_slot=None, entities=(), **more):
        tracker = make_tracker({**slots, **more}, sender="demo-zhao",
                               requested_slot=requested_slot,
                               latest_message={"intent": {"name": "inform"}, "text": text,
                                               "entities": list(entities)})
        tracker.events[0]["text"] = text
        said, events = run_directly(ValidateOrderForm(), tracker)
        return texts(said), {e["name"]: e["value"] for e in events if e.get("event") == "slot"}

    # Only reported: asked, with a button per way.
    assert form("充电宝充不进电")[1]["requested_slot"] == "aftersale_remedy"
    asking = make_tracker(slots, sender="demo-zhao")
    said, _ = run_directly(aftersales.ActionAskAftersaleRemedy(), asking)
    assert "可以给您换新还是退货退款" in texts(said)
    assert [(b["title"], b["payload"]) for b in said[0]["buttons"]] == [
        ("换新", '/inform{"aftersale_remedy": "exchange"}'),
        ("退货退款", '/inform{"aftersale_remedy": "return"}')]
    # A parcel damaged on the way is replaced at once (the customer heard 「给您补发」), unless
    # the customer's words asked for a refund.
    assert form("充电宝摔坏了", aftersale_reason="damaged")[1]["requested_slot"] == "evidence"
    # Said already, or asked for as a return: nothing to ask, the photo is next.
    assert form("充电宝充不进电 给我换个新的")[1]["requested_slot"] == "evidence"
    assert form("充电宝充不进电 我要退货", order_task="return")[1]["requested_slot"] == \
        "evidence"
    # A click, the words, and anything else (explained once, a failed turn).
    clicked = form('/inform{"aftersale_remedy": "exchange"}', "aftersale_remedy",
                   [{"entity": "aftersale_remedy", "value": "exchange"}])[1]
    assert clicked["aftersale_remedy"] == "exchange" and clicked["requested_slot"] == "evidence"
    # Typed, the words say it (aftersales.chosen_remedy reads them when filing).
    assert form("还是退了吧", "aftersale_remedy")[1]["requested_slot"] == "evidence"
    said, changed = form("随便", "aftersale_remedy")
    assert "请点选一种处理方式哦,也可以直接回复「换新」或「退货退款」" in said
    assert changed["failed_attempts"] == 1 and changed["aftersale_remedy"] is None
    # Filed as the customer chose: an exchange, not the policy's return.
    url = f"data:image/png;base64,{base64.b64encode(png(seed=5)).decode()}"
    photo = run(lambda: aftersales.store_evidence(with_photo(url), JACKET_AND_POWERBANK))
    chosen = make_tracker({**slots, "aftersale_remedy": "exchange", "evidence": photo},
                          sender="demo-zhao")
    dispatcher = CollectingDispatcher()
    current = order(JACKET_AND_POWERBANK)
    events = run(lambda: aftersales.handle(current, chosen, dispatcher))
    assert "换货申请已提交(售后单号" in texts(delivered(dispatcher.messages, {}))
    assert {"event": "slot", "name": "aftersale_remedy", "value": None,
            "timestamp": None} in events
    records = run(lambda: backend_module.get_backend().after_sales(
        JACKET_AND_POWERBANK, admin_proof(JACKET_AND_POWERBANK)))
    assert [(r["type"], r["reason_code"]) for r in records] == [("exchange", "quality")]


def test_a_remedy_in_words_keeps_the_after_sale() -> None:
    from actions.forms import remedy_answer_task

    # 「补发吧」 reads as urge_delivery, whose slot mapping made the task `urge`.
    def answered(text: str, reason: str = "damaged"):
        tracker = make_tracker({"order_task": "urge", "aftersale_reason": reason},
                               requested_slot="aftersale_remedy",
                               latest_message={"intent": {"name": "urge_delivery"},
                                               "entities": [], "text": text})
        tracker.events[:] = [{"event": "slot", "name": "order_task", "value": "quality"},
                             {"event": "user", "text": text},
                             {"event": "slot", "name": "order_task", "value": "urge"}]
        return remedy_answer_task(tracker)

    assert answered("补发吧") == "quality"
    assert answered("快点发货") is None  # no remedy named: a request of its own
    assert answered("补发吧", reason="size") is None  # nothing was offered for it


def test_a_question_is_answered_and_filed_on_the_customers_yes(shop_factory, monkeypatch) -> None:
    """「空气炸锅不想要了 能退吗」 filed a return at once, the postage the customer's (the fifth
    probe): how it goes, then 「需要我现在帮您提交申请吗?」; 「再想想」 files nothing."""
    from action_helpers import run_directly

    from actions.forms import ValidateOrderForm
    from actions.orders import ActionAskConfirmed

    monkeypatch.setenv("SHOP_API_URL", shop_factory().url)  # this files an after-sale
    delivered_order = "361204587712340003"  # 王伟's air fryer and one more item
    slots = {"order_id": delivered_order, "verified_order_id": delivered_order,
             "customer_id": "C0001", "order_task": "return", "aftersale_reason": "no_reason_7d",
             "aftersale_item": "5L空气炸锅"}

    def tracker(text: str, **more):
        made = make_tracker({**slots, **more}, sender="demo-wang")
        made.events[0]["text"] = text
        return made

    def form(text: str, **more) -> dict:
        events = run_directly(ValidateOrderForm(), tracker(text, **more))[1]
        return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}

    assert form("空气炸锅不想要了 能退吗")["requested_slot"] == "confirmed"
    # A request too: the customer pays the postage, said before it is filed.
    assert form("空气炸锅不想要了 退了吧")["requested_slot"] == "confirmed"
    assert form("空气炸锅不想要了 退了吧", confirmed=True)["requested_slot"] is None
    said, _ = run_directly(ActionAskConfirmed(), tracker("空气炸锅不想要了 能退吗"))
    assert "可以的~「七天无理由」的话,可以退货退款" in texts(said)
    assert "需要我现在帮您提交申请吗?" in texts(said)
    assert [b["title"] for b in said[0]["buttons"]] == ["确认", "再想想"]

    def filed() -> list:
        return run(lambda: backend_module.get_backend().after_sales(
            delivered_order, admin_proof(delivered_order)))

    dispatcher = CollectingDispatcher()
    current = order(delivered_order)
    run(lambda: aftersales.handle(current, tracker("再想想", confirmed=False), dispatcher))
    assert "先不提交申请" in texts(delivered(dispatcher.messages, {})) and filed() == []
    dispatcher = CollectingDispatcher()
    run(lambda: aftersales.handle(current, tracker("确认", confirmed=True), dispatcher))
    assert "退货申请已提交" in texts(delivered(dispatcher.messages, {}))
    assert [r["type"] for r in filed()] == ["return"]
