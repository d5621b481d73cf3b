"""The agents' desk in headless Chromium (Debian's chromium driven by Playwright).

One real desk server with 50 open conversations on the web-chat channel (its push endpoint
recorded), a real demo shop for the coupon playbook. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from agent_helpers import PUSH_TOKEN, PushRecorder, add_agent
from desk_helpers import AUTH, get, new_id, packet, post, shop_records

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DELAYED = "361204587712340011"  # 李娜 C0002, 中通, delayed (docs/demo_data.md)
RETURNING = "361204587712340013"  # 李娜's blender, return requested
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
BUILT = (ROOT / "desk" / "web" / "dist" / "index.html").is_file()

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
    pytest.mark.skipif(not BUILT, reason="desk/web not built (scripts/setup_web.sh)"),
]


@pytest.fixture(scope="module")
def world(desk_factory, tmp_path_factory, shop_server):
    recorder = PushRecorder()
    folder = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{folder / 'desk.sqlite'}"
    desk = desk_factory(db_url, extra_args=("--rasa-url", recorder.url), env={
        "CHANNEL_PUSH_TOKEN": PUSH_TOKEN, "DESK_RATING_POLL_SECONDS": "0",
        "DESK_AUTO_ASSIGN": "false", "SHOP_API_URL": shop_server,
        "ACTIONS_DB_URL": f"sqlite:///{folder / 'actions.sqlite'}"})
    add_agent(db_url, "小王", "wang-pass-123", max_chats=3)
    add_agent(db_url, "小李", "li-pass-1234")
    add_agent(db_url, "老张", "zhang-pass-12", role="supervisor")
    add_agent(db_url, "小赵", "zhao-pass-123")
    now = time.time()
    ids = {}
    # 47 ordinary conversations, one hostile one, a calm priority-2 one, then the upset
    # customer with a late parcel (priority 1: the top of the list although the newest).
    for index in range(47):
        sent = packet(channel="webchat", customer={"id": f"C9{index:03d}",
                                                   "name": f"顾客{index:02d}"},
                      transcript=[{"role": "customer", "text": f"第{index}位顾客的问题",
                                   "time": now - 600 + index, "intent": "request_human",
                                   "emotion": {"label": "calm", "intensity": 0.1}}],
                      emotion={"history": [{"label": "calm", "intensity": 0.1,
                                            "time": now - 600 + index}], "turning_point": None})
        post(desk.url, "/api/handoffs", sent, status=201)
    hostile = packet(channel="webchat", customer={"id": "C8888", "name": "捣乱的人"},
                     transcript=[{"role": "customer", "text": XSS, "time": now - 100}])
    ids["xss"] = post(desk.url, "/api/handoffs", hostile, status=201)["id"]
    ids["calm_p2"] = post(desk.url, "/api/handoffs", packet(
        channel="webchat", priority=2, customer={"id": "C7777", "name": "早到的顾客"},
        emotion={"history": [{"label": "calm", "intensity": 0.2, "time": now - 500}],
                 "turning_point": None}),
        status=201)["id"]
    admin = os.environ["SHOP_ADMIN_KEY"]
    order = shop_records(shop_server, f"/api/orders/{DELAYED}", admin)
    order["tracking"] = shop_records(shop_server, f"/api/orders/{DELAYED}/tracking", admin)
    assert order["tracking"]["delayed"] is True
    # The after-sales the bot puts into the packet (actions/handoff.py): the blender's return
    # as the shop has it, without the customer's waybill yet, and an exchange whose parcel
    # back the bot recorded.
    returning = shop_records(shop_server, f"/api/orders/{RETURNING}", admin)
    returning["after_sales"] = shop_records(
        shop_server, f"/api/orders/{RETURNING}/after-sales", admin)["after_sales"]
    order["after_sales"] = [{"ticket_no": "AS00009999", "type": "exchange", "type_text": "换货",
                             "status_text": "处理中", "return_courier": "中通",
                             "return_tracking_no": "75312345678901",
                             "return_sent_at": "2026-12-07T10:00:00+08:00"}]
    angry = packet(
        channel="webchat", priority=1, queue="senior",
        rule={"id": "angry_customer", "reason": "客户情绪激动"},
        customer={"id": order["customer_id"], "name": "李娜"},
        transcript=[
            {"role": "customer", "text": "我的快递怎么还没到", "time": now - 300,
             "intent": "track_logistics", "emotion": {"label": "anxious", "intensity": 0.5}},
            {"role": "bot", "text": "亲，您的包裹正在运输中", "time": now - 299},
            {"role": "customer", "text": "都一个星期了！太过分了，转人工", "time": now - 200,
             "intent": "request_human", "emotion": {"label": "angry", "intensity": 0.9}}],
        slots={"customer_id": order["customer_id"]}, verified_order=DELAYED,
        orders=[order, returning], todos=[{"id": "t-urge", "text": "催促快递并回复客户"}],
        emotion={"history": [{"label": "anxious", "intensity": 0.5, "time": now - 300},
                             {"label": "angry", "intensity": 0.9, "time": now - 200}],
                 "turning_point": {"time": now - 200, "label": "angry"}})
    created = post(desk.url, "/api/handoffs", angry, status=201)
    ids["angry"] = created["id"]
    ids["angry_conversation"] = created["conversation_id"]
    # The hostile customer writes again while waiting, through the channel.
    post(desk.url, "/api/channel-events", {"conversation_id": hostile["conversation_id"],
                                           "kind": "customer_message", "text": XSS})
    yield {"desk": desk, "recorder": recorder, "ids": ids,
           "returning": returning["after_sales"]}
    recorder.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def _page(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(url)
    return page


def _login(browser, url, name, password):
    page = _page(browser, url)
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-test=me]")
    return page


def test_wrong_password_and_throttling(world, browser):
    page = _page(browser, world["desk"].url)
    assert page.locator("meta[charset]").get_attribute("charset") == "utf-8"
    page.fill("input[name=name]", "小赵")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-test=login-error]")
    assert page.inner_text("[data-test=login-error]") == "用户名或密码错误"
    page.screenshot(path=str(SHOTS / "desk-login-wrong-password.png"))
    for _ in range(4):
        page.click("button[type=submit]")
        page.wait_for_timeout(300)
    page.fill("input[name=password]", "zhao-pass-123")  # right, but too late
    page.click("button[type=submit]")
    expect(page.locator("[data-test=login-error]")).to_contain_text("登录失败次数过多")
    assert page.locator("[data-test=me]").count() == 0
    page.context.close()


def test_fifty_conversations_urgent_first_and_xss(world, browser):
    started = time.perf_counter()
    page = _login(browser, world["desk"].url, "小王", "wang-pass-123")
    rows = page.locator("[data-test=handoff-row]")
    expect(rows).to_have_count(50)
    rendered = time.perf_counter() - started
    ids = world["ids"]
    # Most urgent first, then the longest waiting; the upset customer is highlighted.
    assert rows.nth(0).get_attribute("data-id") == str(ids["angry"])
    assert "upset" in rows.nth(0).get_attribute("class")
    assert rows.nth(1).get_attribute("data-id") == str(ids["calm_p2"])
    assert "upset" not in rows.nth(1).get_attribute("class")
    assert rows.nth(2).get_attribute("data-id") != str(ids["xss"])  # newer, same priority
    assert rendered < 10, rendered
    page.screenshot(path=str(SHOTS / "desk-queue-50.png"))
    # Moving through the list with the keyboard stays quick with 50 rows.
    page.click(f"[data-id='{ids['xss']}']")
    page.wait_for_selector("[data-test=line-customer]")
    lines = page.locator("[data-test=line-customer] .text").all_inner_texts()
    assert lines.count(XSS) >= 2  # the packet line and the live one, both as plain text
    assert page.evaluate("window.__xss") is None
    assert page.locator("[data-test=timeline] script").count() == 0
    started = time.perf_counter()
    for _ in range(5):
        page.keyboard.press("Alt+J")
    page.wait_for_timeout(200)
    assert time.perf_counter() - started < 5
    page.context.close()


def test_claim_reply_compliance_playbook_transfer_capacity(world, browser):
    desk, recorder, ids = world["desk"], world["recorder"], world["ids"]
    page = _login(browser, desk.url, "小王", "wang-pass-123")
    page.click(f"[data-id='{ids['angry']}']")
    page.wait_for_selector("[data-test=alert]")
    assert "当前客户情绪波动,建议使用安抚话术并优先处理" in page.inner_text("[data-test=alert]")
    assert "接入后才能回复" in page.inner_text("[data-test=readonly]")
    # The packet: order with tracking, to-dos, the emotion turning point.
    context = page.inner_text("[data-test=context]")
    assert DELAYED in context and "已延误" in context and "情绪转折点" in context
    assert "催促快递并回复客户" in context
    # The after-sales: the customer's parcel back, registered or not.
    assert "售后 AS00009999 · 换货 · 处理中" in context
    assert "客户寄回：中通 75312345678901 · 仓库未签收" in context
    [blender] = world["returning"]
    assert f"售后 {blender['ticket_no']} · 退货退款" in context
    assert (f"客户寄回：{blender['return_courier']} {blender['return_tracking_no']}"
            if blender.get("return_tracking_no") else "客户寄回：未登记单号") in context
    page.keyboard.press("Alt+C")  # claim
    page.wait_for_selector("[data-test=readonly]", state="detached")
    conversation = ids["angry_conversation"]
    joined = recorder.of(conversation, "agent_joined")
    assert joined and "小王" in joined[-1]["text"]
    # Canned reply with order variables, picked from the "/" menu.
    box = page.locator("[data-test=reply-box]")
    box.fill("/wl")
    page.wait_for_selector("[data-test=canned]")
    box.press("Enter")
    assert DELAYED in box.input_value() and "{订单号}" not in box.input_value()
    box.press("Enter")
    page.wait_for_selector("[data-test=line-agent]")
    assert DELAYED in recorder.of(conversation, "agent_message")[-1]["text"]
    # The advertising law: a blocked text is refused with a warning, nothing is sent.
    sent = len(recorder.of(conversation, "agent_message"))
    box.fill("放心，我们的快递服务全网第一")
    box.press("Enter")
    page.wait_for_selector("[data-test=compliance-warning]")
    assert "全网第一" in page.inner_text("[data-test=compliance-warning]")
    page.screenshot(path=str(SHOTS / "desk-compliance-warning.png"))
    assert len(recorder.of(conversation, "agent_message")) == sent
    # A rewrite rule: the agent confirms the suggested wording.
    box.fill("这是我们最好的快递方案")
    box.press("Enter")
    page.wait_for_selector("[data-test=send-rewrite]")
    page.click("[data-test=send-rewrite]")
    page.wait_for_selector("[data-test=compliance-warning]", state="detached")
    assert "最好的" not in recorder.of(conversation, "agent_message")[-1]["text"]
    # The coupon playbook within the shop's limits, its result shown.
    page.click("[data-test=play-delayed_parcel_apology]")
    page.wait_for_selector("[data-test=play-result]")
    assert "已发放5元优惠券" in page.inner_text("[data-test=play-result]")
    assert "优惠券" in recorder.of(conversation, "agent_message")[-1]["text"]
    # Twice is over the limit (once per customer per 30 days): refused, and said so.
    page.click("[data-test=play-delayed_parcel_apology]")
    expect(page.locator("[data-test=play-result]")).to_contain_text("超出店铺限额")
    # An internal note, a to-do ticked.
    page.keyboard.press("Alt+M")
    box.fill("已电话联系快递站点")
    box.press("Enter")
    page.wait_for_selector("[data-test=line-note]")
    page.locator("[data-test=todos] input[type=checkbox]").first.check()
    page.screenshot(path=str(SHOTS / "desk-conversation.png"), full_page=False)
    # Capacity 3: two more claims fill it, the fourth is refused with the reason shown.
    waiting = [h["id"] for h in get(desk.url, "/api/handoffs?view=waiting")["handoffs"]
               if h["id"] not in (ids["xss"], ids["calm_p2"])][:3]
    for index, handoff_id in enumerate(waiting):
        page.keyboard.press("Alt+2")
        page.click(f"[data-id='{handoff_id}']")
        page.wait_for_selector("[data-test=claim]")
        page.click("[data-test=claim]")
        if index < 2:
            page.wait_for_selector("[data-test=claim]", state="detached")
    expect(page.locator("[data-test=flash]")).to_contain_text("达到上限 3")
    # Transfer the angry customer to 小李 with a note.
    page.keyboard.press("Alt+1")
    page.click(f"[data-id='{ids['angry']}']")
    # Its detail, not the one shown before the click (the reply box is on both).
    expect(page.locator("[data-test=context]")).to_contain_text(DELAYED)
    page.keyboard.press("Alt+T")
    page.wait_for_selector("[data-test=transfer]")
    page.select_option("[data-test=transfer-target]", label=None,
                       value=page.eval_on_selector(
                           "[data-test=transfer-target]",
                           "s => [...s.options].find(o => o.text.startsWith('小李')).value"))
    page.fill("[data-test=transfer-note]", "客户要求退款，请跟进")
    page.click("[data-test=transfer-go]")
    page.wait_for_selector("[data-test=readonly]")
    assert "小李" in page.inner_text("[data-test=readonly]")
    page.context.close()
    # 小李 sees it in 我的, with the transfer note in the conversation.
    li = _login(browser, desk.url, "小李", "li-pass-1234")
    li.keyboard.press("Alt+1")
    li.click(f"[data-id='{ids['angry']}']")
    li.wait_for_selector("[data-test=line-system]")
    assert "客户要求退款，请跟进" in li.inner_text("[data-test=timeline]")
    li.context.close()


def test_someone_elses_conversation_is_read_only(world, browser):
    desk, ids = world["desk"], world["ids"]
    # 小王 owns the calm priority-2 conversation (claimed above, or now).
    post(desk.url, f"/api/handoffs/{ids['calm_p2']}/claim", {"agent": "小王"})
    page = _login(browser, desk.url, "小李", "li-pass-1234")
    page.keyboard.press("Alt+3")
    page.click(f"[data-id='{ids['calm_p2']}']")
    page.wait_for_selector("[data-test=readonly]")
    assert "小王 负责" in page.inner_text("[data-test=readonly]")
    assert page.locator("[data-test=reply-box]").is_disabled()
    assert page.locator("[data-test=resolve]").count() == 0
    page.screenshot(path=str(SHOTS / "desk-read-only.png"))
    page.context.close()


def test_supervisor_view(world, browser):
    page = _login(browser, world["desk"].url, "老张", "zhang-pass-12")
    page.click("[data-test=view-supervisor]")
    expect(page.locator("[data-test=supervisor]")).to_contain_text("综合客服")
    text = page.inner_text("[data-test=supervisor]")
    assert "综合客服" in text and "小王" in text and "小李" in text
    page.screenshot(path=str(SHOTS / "desk-supervisor.png"))
    page.context.close()


def test_expired_session_returns_to_login(desk_factory, tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("expiry")
    db_url = f"sqlite:///{folder / 'desk.sqlite'}"
    desk = desk_factory(db_url, env={"DESK_SESSION_SECONDS": "3",
                                     "DESK_RATING_POLL_SECONDS": "0"})
    add_agent(db_url, "小王", "wang-pass-123")
    post(desk.url, "/api/handoffs", packet(new_id()), status=201)
    page = _login(browser, desk.url, "小王", "wang-pass-123")
    page.wait_for_timeout(3500)
    page.click("[data-test=view-all]")
    page.wait_for_selector("[data-test=login-notice]")
    assert page.inner_text("[data-test=login-notice]") == "登录已过期，请重新登录"
    page.context.close()
    desk.stop()


__all__ = ["AUTH"]
