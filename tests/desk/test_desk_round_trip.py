"""The whole round trip with the real assistant: shop, action server, Rasa, desk.

The customer talks over the REST channel (the web-chat channel is another branch; once it is
on main the same trip runs through its widget), escalates, and keeps writing while waiting.
An agent in headless Chromium sees the conversation at the top of the queue with its packet,
claims it, replies, runs the coupon playbook and resolves; the bot asks the customer for a
rating, the customer rates, and the desk's event feed carries the agent's CSAT.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from agent_helpers import add_agent
from desk_helpers import call_json, coupons_of, open_all_day

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from scenarios import identity_metadata, post_message, reply_text  # noqa: E402
from stack import Stack  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = ROOT / "docs" / "screenshots"
SENDER = "demo-li"  # linked to 李娜 (C0002), who owns the delayed order
DELAYED = "361204587712340011"

pytestmark = [
    pytest.mark.stack,
    pytest.mark.timeout(1500),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
    pytest.mark.skipif(not (ROOT / "desk/web/dist/index.html").is_file(),
                       reason="desk/web not built (scripts/setup_web.sh)"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not (ROOT / "models" / "shop.tar.gz").exists():
        pytest.skip("no trained model (make train)")
    folder = tmp_path_factory.mktemp("roundtrip")
    running = Stack.isolated(folder)
    running.env["ESCALATION_RULES"] = str(open_all_day(folder))
    running.env["DESK_RATING_POLL_SECONDS"] = "1"
    running.start(timeout=900)  # Rasa loads the model in 1-5 minutes on a busy machine
    yield running
    running.stop()


def _tracker(stack) -> dict:
    return call_json(f"{stack.rasa_url}/conversations/{SENDER}/tracker?token="
                 f"{stack.env['RASA_API_TOKEN']}")


def _desk_bot_lines(stack) -> list[dict]:
    return [e for e in _tracker(stack)["events"] if e["event"] == "bot"
            and (e.get("metadata") or {}).get("source") == "desk"]


def test_round_trip_rest_customer_and_agent_in_the_browser(stack):
    # 李娜 is signed in on the shop's site: her messages carry its signed identity.
    signed = identity_metadata("C0002", stack.env["CHANNEL_IDENTITY_SECRET"])
    say = lambda text: reply_text(post_message(stack.rasa_url, SENDER, text, metadata=signed))  # noqa: E731,E501
    token = stack.env["DESK_API_TOKEN"]
    desk = stack.env["DESK_URL"]
    add_agent(stack.env["DESK_DB_URL"], "小王", "wang-pass-123")
    assert "中通" in say(f"帮我查下物流 {DELAYED}")
    answer = say("转人工")
    assert "转接人工客服" in answer, answer
    # Paused: the bot answers nothing itself; what the customer writes waits for the agent,
    # and the customer is told so.
    angry = "太气人了！一个星期了还没到，你们到底管不管！"
    assert [reply["text"] for reply in post_message(stack.rasa_url, SENDER, angry,
                                                     metadata=signed)] == \
        ["消息已转给人工客服,客服回复后会在这里显示,请稍候~(转人工后您的 1 条消息都已记下)"]
    coupons_before = len(coupons_of(stack, "C0002"))

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page.goto(desk + "/")
        page.fill("input[name=name]", "小王")
        page.fill("input[name=password]", "wang-pass-123")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-test=me]")
        page.click("[data-test=view-waiting]")
        top = page.locator("[data-test=handoff-row]").first
        expect(top).to_contain_text("转人工", timeout=10000)
        top.click()
        page.wait_for_selector("[data-test=context]")
        expect(page.locator("[data-test=context]")).to_contain_text(DELAYED)
        expect(page.locator("[data-test=timeline]")).to_contain_text("一个星期了还没到")
        # The mood turned while waiting: the banner, and the play is now allowed.
        expect(page.locator("[data-test=alert]")).to_contain_text("当前客户情绪波动")
        page.click("[data-test=claim]")
        page.wait_for_selector("[data-test=readonly]", state="detached")
        box = page.locator("[data-test=reply-box]")
        box.fill("您好，我是小王，非常抱歉让您久等了，我马上帮您催快递")
        box.press("Enter")
        page.wait_for_selector("[data-test=line-agent]")
        page.click("[data-test=play-delayed_parcel_apology]")
        expect(page.locator("[data-test=play-result]")).to_contain_text("已发放5元优惠券")
        page.screenshot(path=str(SHOTS / "desk-round-trip.png"))
        page.click("[data-test=resolve]")
        expect(page.locator("[data-test=flash]")).to_contain_text("会话已结束")
        browser.close()

    # Everything the agent said is in the conversation, marked as the desk's.
    lines = _desk_bot_lines(stack)
    texts = [e["text"] for e in lines]
    assert any("人工客服 小王 已接入" in t for t in texts), texts
    assert "您好，我是小王，非常抱歉让您久等了，我马上帮您催快递" in texts
    assert any("优惠券" in t for t in texts)
    assert all(e["metadata"]["agent_name"] == "小王" for e in lines)
    coupons = coupons_of(stack, "C0002")
    assert len(coupons) == coupons_before + 1
    # Back to the bot, which asked for the rating; the customer answers it.
    state = _tracker(stack)
    assert state["paused"] is False
    last_bot = [e["text"] for e in state["events"] if e["event"] == "bot"][-1]
    assert "评" in last_bot or "满意" in last_bot, last_bot
    # REST cannot push: what the agent said, and the rating question, come with the answer
    # to the customer's next message, before the bot's thanks.
    answer = say("5分")
    assert answer.index("马上帮您催快递") < answer.index("满意") < answer.index("谢谢"), answer
    deadline = time.monotonic() + 20
    events: list[dict] = []
    while time.monotonic() < deadline:
        events = call_json(f"{desk}/api/events?limit=1000", token=token)["events"]
        if any(e["kind"] == "rating" for e in events):
            break
        time.sleep(0.5)
    kinds = [e["kind"] for e in events]
    assert kinds == ["handoff_created", "claimed", "agent_replied", "agent_replied",
                     "playbook_run", "resolved", "rating"], kinds
    resolved = next(e for e in events if e["kind"] == "resolved")
    assert resolved["data"]["handle_seconds"] > 0 and resolved["data"]["first_reply_seconds"] > 0
    assert next(e for e in events if e["kind"] == "rating")["data"]["rating"] == 5
    assert {e["conversation_id"] for e in events} == {SENDER}

