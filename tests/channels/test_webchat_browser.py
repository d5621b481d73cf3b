"""The chat page and the widget on the demo shop page in headless Chromium."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from channels.identity import sign_identity

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [pytest.mark.stack, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
TIMEOUT = 60_000
expect.set_options(timeout=TIMEOUT)  # bot turns take seconds on a busy machine


@pytest.fixture(scope="module")
def browser(webchat_stack: Dict[str, Any]) -> Iterator[Any]:
    if not (ROOT / "webchat" / "dist" / "index.html").is_file():
        pytest.fail("the chat page is not built: cd webchat && npm ci && npm run build")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def label_photo() -> bytes:
    """A small picture of a product label (the after-sales flow asks for one)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (240, 150), "#f4efe6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, 228, 138), outline="#333333", width=3)
    for row, text in enumerate(("MODEL: K87", "BATCH: 2411A7", "MADE IN CHINA")):
        draw.text((28, 30 + row * 32), text, fill="#222222")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def api(env: Dict[str, Any], rasa: str, path: str, body: Any = None,
        params: str = "", token: str | None = None) -> Any:
    url = f"{rasa}{path}?token={env['RASA_API_TOKEN']}{params}"
    headers = {"Content-Type": "application/json"}
    if token:
        url = f"{rasa}{path}"
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers=headers, method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def push(stack: Dict[str, Any], body: Dict[str, Any]) -> Any:
    return api(stack["env"], stack["rasa"], "/webhooks/webchat/push", body,
               token=stack["env"]["CHANNEL_PUSH_TOKEN"])


def send(page: Any, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")


def bot_bubbles(page: Any) -> Any:
    return page.locator(".row.bot .bubble")


def test_chat_page_on_a_phone(browser: Any, webchat_stack: Dict[str, Any]) -> None:
    stack = webchat_stack
    identity = sign_identity({"customer_id": "C0001", "product_id": "P5001"},
                             stack["env"]["CHANNEL_IDENTITY_SECRET"])
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{stack['rasa']}/webhooks/webchat/#identity={identity}&product=P5001")
    expect(page.locator("#status")).to_have_text("在线")
    cid = page.evaluate("window.shopWebchat.conversationId")
    assert cid and cid.startswith("wc-")

    # A product question on the product's page: answer plus a product card.
    send(page, "这个涂层耐刮吗")
    expect(page.locator(".row.me .bubble").last).to_have_text("这个涂层耐刮吗")
    expect(page.locator(".card-product").first).to_be_visible()
    assert page.locator(".card-product .card-amount").first.inner_text().startswith("¥")
    bubbles_before = bot_bubbles(page).count()
    page.locator(".card-product .card-action").first.click()
    expect(bot_bubbles(page).nth(bubbles_before)).to_be_visible()

    # The order list as cards (the customer is linked by the verified identity).
    api(stack["env"], stack["rasa"], f"/conversations/{cid}/tracker/events",
        [{"event": "slot", "name": "customer_id", "value": "C0001"}])
    send(page, "帮我查下订单")
    orders = page.locator(".card-order")
    expect(orders.first).to_be_visible()
    assert orders.count() >= 2
    assert re.fullmatch(r"订单号 \d{18}", orders.first.locator(".card-id").inner_text())
    page.screenshot(path=str(SHOTS / "webchat-phone-cards.png"))
    order_id = orders.first.locator(".card-id").inner_text().split()[-1]
    bubbles_before = bot_bubbles(page).count()
    orders.first.locator(".card-action").click()
    expect(page.locator(".row.me .bubble").last).to_contain_text(order_id[-4:])
    expect(bot_bubbles(page).nth(bubbles_before)).to_contain_text(order_id)

    # Hostile text is shown as text and never runs.
    send(page, '<img src=x onerror="window.__pwned=1">')
    expect(page.locator(".row.me .bubble").last).to_have_text(
        '<img src=x onerror="window.__pwned=1">')
    assert page.evaluate("window.__pwned") is None

    # A photo: sent and shown; an 11 MB one is refused in the page, nothing is sent.
    sent_before = page.locator(".row.me").count()
    page.set_input_files("#photo", files=[{"name": "label.png", "mimeType": "image/png",
                                           "buffer": label_photo()}])
    expect(page.locator(".row.me img.photo-img")).to_have_count(1)
    page.set_input_files("#photo", files=[{"name": "huge.png", "mimeType": "image/png",
                                           "buffer": PNG_1PX + b"\0" * (11 * 1024 * 1024)}])
    expect(page.locator("#notice")).to_contain_text("10MB")
    page.set_input_files("#photo", files=[{"name": "a.pdf", "mimeType": "application/pdf",
                                           "buffer": b"%PDF-1.4"}])
    expect(page.locator("#notice")).to_contain_text("只能发送图片")
    assert page.locator(".row.me").count() == sent_before + 1
    tracker = api(stack["env"], stack["rasa"], f"/conversations/{cid}/tracker")
    photos = [e for e in tracker["events"] if e["event"] == "user"
              and (e.get("metadata") or {}).get("attachments")]
    assert photos[-1]["metadata"]["attachments"][0]["url"].startswith("data:image/png;base64,")

    # Reload: same conversation, history back on screen.
    page.reload()
    expect(page.locator("#status")).to_have_text("在线")
    assert page.evaluate("window.shopWebchat.conversationId") == cid
    expect(page.locator(".row.me .bubble", has_text="这个涂层耐刮吗")).to_have_count(1)

    # A human joins: queue, the clear notice, typing, the agent's words; then the rating.
    agent = {"id": "a-wang", "name": "小王"}
    assert push(stack, {"conversation_id": cid, "kind": "queue", "position": 3,
                        "wait_minutes": 5})["delivered"] == 1
    expect(page.locator("#queue")).to_contain_text("前面还有 2 位")
    expect(page.locator("#queue")).to_contain_text("5 分钟")
    push(stack, {"conversation_id": cid, "kind": "agent_joined", "agent": agent})
    expect(page.locator(".system.joined")).to_have_text("人工客服 小王 已接入")
    expect(page.locator("#queue")).to_be_hidden()
    push(stack, {"conversation_id": cid, "kind": "typing", "agent": agent})
    expect(page.locator("#typing")).to_have_text("人工客服 小王 正在输入…")
    push(stack, {"conversation_id": cid, "kind": "agent_message", "agent": agent,
                 "text": "您好,我是小王,马上帮您看订单"})
    expect(page.locator(".bubble.agent").last).to_have_text("您好,我是小王,马上帮您看订单")
    expect(page.locator(".who.agent").last).to_have_text("人工客服 小王")
    page.screenshot(path=str(SHOTS / "webchat-phone-agent.png"))
    api(stack["env"], stack["rasa"], f"/conversations/{cid}/execute",
        {"name": "action_ask_rating"}, params="&output_channel=latest")
    rating = page.locator(".choice", has_text="非常满意")
    expect(rating.last).to_be_visible()
    page.screenshot(path=str(SHOTS / "webchat-phone-rating.png"))
    rating.last.click()
    expect(bot_bubbles(page).last).to_contain_text("评价")
    assert not errors, errors
    context.close()


def test_leave_a_message_outside_office_hours(browser: Any,
                                              webchat_stack: Dict[str, Any]) -> None:
    stack = webchat_stack  # the test stack's office hours are closed (see conftest)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{stack['rasa']}/webhooks/webchat/")
    expect(page.locator("#status")).to_have_text("在线")
    page.click("#leave-open")
    expect(page.locator("#leave-hours")).to_contain_text("09:00-22:00")
    page.fill("#leave-form [name=name]", "王先生")
    page.fill("#leave-form [name=content]", "耳机左边没有声音,麻烦明天回电")
    page.fill("#leave-form [name=phone]", "12345")
    page.click("#leave-form button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("11位手机号")
    page.fill("#leave-form [name=phone]", "13812345678")
    page.screenshot(path=str(SHOTS / "webchat-phone-leave-message.png"))
    page.click("#leave-form button[type=submit]")
    expect(page.locator("#leave")).to_be_hidden()
    expect(page.locator(".row.me .bubble").last).to_contain_text("耳机左边没有声音")
    expect(bot_bubbles(page).last).to_contain_text("工单")
    cid = page.evaluate("window.shopWebchat.conversationId")
    # The reply is pushed while Rasa runs the turn, before it stores the tracker: wait for it.
    deadline = time.monotonic() + 15
    while True:
        tracker = api(stack["env"], stack["rasa"], f"/conversations/{cid}/tracker")
        users = [e for e in tracker["events"] if e["event"] == "user"]
        if users or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    left = users[-1]["metadata"]
    assert left["leave_message"] == {"name": "王先生", "phone": "13812345678",
                                     "content": "耳机左边没有声音,麻烦明天回电"}
    context.close()


def test_widget_on_the_demo_shop_page(browser: Any, webchat_stack: Dict[str, Any]) -> None:
    stack = webchat_stack
    for name, options in (("desktop", {"viewport": {"width": 1280, "height": 800},
                                       "locale": "zh-CN"}), ("phone", PHONE)):
        context = browser.new_context(**options)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(f"{stack['shop']}/site/?customer=C0001&product=P5002")
        expect(page.locator("#who")).to_contain_text("王伟")
        page.click(".swc-bubble")
        frame = page.frame_locator("iframe.swc-panel")
        expect(frame.locator("#status")).to_have_text("在线")
        frame.locator("#input").fill("包邮吗")
        frame.locator("#send").click()
        expect(frame.locator(".row.bot .bubble").last).to_contain_text("包邮")
        page.screenshot(path=str(SHOTS / f"webchat-widget-{name}.png"))
        inner = page.frame(url=re.compile(r"/webhooks/webchat/"))
        cid = inner.evaluate("window.shopWebchat.conversationId")
        tracker = api(stack["env"], stack["rasa"], f"/conversations/{cid}/tracker")
        meta = [e for e in tracker["events"] if e["event"] == "user"][-1]["metadata"]
        assert meta["identity"] == {"customer_id": "C0001", "verified": True}
        assert meta["product_id"] == "P5002"
        # Reload the shop page: the widget continues the same conversation.
        page.reload()
        page.click(".swc-bubble")
        frame = page.frame_locator("iframe.swc-panel")
        expect(frame.locator(".row.me .bubble", has_text="包邮吗")).to_have_count(1)
        inner = page.frame(url=re.compile(r"/webhooks/webchat/"))
        assert inner.evaluate("window.shopWebchat.conversationId") == cid
        if name == "phone":
            frame.locator("#close").click()
            expect(page.locator("iframe.swc-panel")).to_be_hidden()
        context.close()
    # An anonymous visitor's chat carries no identity.
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{stack['shop']}/site/?product=P5001")
    expect(page.locator("#who")).to_contain_text("匿名")
    page.click(".swc-bubble")
    frame = page.frame_locator("iframe.swc-panel")
    expect(frame.locator("#status")).to_have_text("在线")
    frame.locator("#input").fill("在吗")
    frame.locator("#send").click()
    expect(frame.locator(".row.me .bubble").last).to_have_text("在吗")
    expect(frame.locator(".row.bot .bubble").last).to_be_visible()
    inner = page.frame(url=re.compile(r"/webhooks/webchat/"))
    cid = inner.evaluate("window.shopWebchat.conversationId")
    events = api(stack["env"], stack["rasa"], f"/conversations/{cid}/tracker")["events"]
    meta = [e for e in events if e["event"] == "user"][-1]["metadata"]
    assert "identity" not in meta and meta["product_id"] == "P5001"
    context.close()
