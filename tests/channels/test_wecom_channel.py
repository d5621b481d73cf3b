"""The WeCom channel's pull, send and retry logic against the local WeCom simulator over real
HTTP, in this process. The bot is a stand-in that answers through the channel's real output
(the end-to-end tests in test_wechat_e2e.py run the same paths with the real Rasa server).

No test waits a fixed time: each polls the simulator until what it expects happened, with a
generous deadline only as a guard against a hang."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import web
from rasa.core.channels.channel import UserMessage
from wecom_simulator import PNG_1X1, SIM, make_app

import channels.wecom as wecom
from channels.wecom import WeComInput, WeComOutput
from service_common.http import HttpClient

CORP, SECRET, KF = "wwsimcorp000000001", "sim-secret", "wkSIMKF0001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class Bot:
    """Answers each customer message with `reply(text)` (a list of output calls)."""

    def __init__(self, reply: Optional[Callable[[UserMessage], Awaitable[None]]] = None
                 ) -> None:
        self.heard: List[str] = []
        self.fail_times = 0
        self.reply = reply

    async def __call__(self, message: UserMessage) -> None:
        self.heard.append(message.text or "")
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("the bot failed")
        if self.reply is not None:
            await self.reply(message)
        else:
            await message.output_channel.send_text_message(message.sender_id,
                                                           f"收到:{message.text}")


class World:
    def __init__(self, url: str, sim: Any, control: HttpClient, channel: WeComInput) -> None:
        self.url, self.sim, self.control, self.channel = url, sim, control, channel
        assert channel.store is not None
        self.store = channel.store

    async def enqueue(self, user: str = "wmCustomer", content: str = "在吗", **body: Any
                      ) -> str:
        message: Dict[str, Any] = {"open_kfid": KF, "external_userid": user, "origin": 3,
                                   "msgtype": "text", "text": {"content": content}, **body}
        answer = await self.control.request_json("POST", "/sim/enqueue", json=message)
        return str(answer.data["token"])

    async def set(self, **body: Any) -> None:
        await self.control.request("POST", "/sim/control", json=body)

    async def pull(self, bot: Bot, token: str = "") -> None:
        await self.channel._pull(None, bot, KF, token)

    def sent_to(self, user: str = "wmCustomer") -> List[Dict[str, Any]]:
        return [message for message in self.sim.sent if message.get("touser") == user]

    async def until(self, check: Callable[[], bool], what: str, limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while not check():
            assert time.monotonic() < deadline, f"never happened: {what}"
            await asyncio.sleep(0.02)

    def output(self) -> WeComOutput:
        return WeComOutput(self.channel.api, self.store, KF)


def run(tmp_path: Path, test: Callable[[World], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        app = make_app(CORP, SECRET, 3600)
        sim = app[SIM]
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore
        channel = WeComInput(CORP, SECRET, "SimToken42", AES_KEY, url,
                             f"sqlite:///{tmp_path}/wecom.sqlite", retry_seconds=0.05,
                             clock=sim.now, **options)
        try:
            async with HttpClient(url) as control:
                await test(World(url, sim, control, channel))
        finally:
            for task in list(channel._tasks):
                task.cancel()
            await channel.api.close()
            await runner.cleanup()

    asyncio.run(main())


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [message["text"]["content"] for message in messages if message["msgtype"] == "text"]


# ----------------------------------------------------------------- 1. nothing is lost

def test_a_reply_wecom_did_not_take_is_sent_after_recovery(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="channels.wecom")

    async def test(world: World) -> None:
        bot = Bot()
        await world.set(fail={"send_msg": 500})
        token = await world.enqueue(content="在吗")
        await world.pull(bot, token)
        assert bot.heard == ["在吗"] and world.sent_to() == []
        msgid = world.sim.queues[KF][0]["msgid"]
        assert world.store.state_of(msgid) == "done"  # the turn ran; its reply waits
        assert [entry[2]["text"]["content"] for entry in world.store.queued(KF)] == ["收到:在吗"]
        await world.until(lambda: world.sim.calls["send_msg"] >= 2, "a second attempt")
        await world.set(fail={})
        # No new callback: the channel's own re-pull sends the waiting reply.
        await world.until(lambda: texts(world.sent_to()) == ["收到:在吗"], "the reply")
        assert bot.heard == ["在吗"]  # the turn was not run twice
        await world.until(lambda: not world.channel._retrying, "the retries to stop")
        assert world.store.queued(KF) == []

    run(tmp_path, test)
    assert "send_msg to wmCust failed: WeCom API error -500" in caplog.text
    assert f"pulling {KF} again in" in caplog.text


def test_later_replies_wait_behind_a_queued_one_and_keep_their_order(tmp_path):
    async def test(world: World) -> None:
        async def three(message: UserMessage) -> None:
            for text in ("一", "二", "三"):
                await message.output_channel.send_text_message(message.sender_id, text)
                if text == "一":
                    await world.set(fail={})  # WeCom is back, but 二 must not overtake 一

        await world.set(fail={"send_msg": 502})
        await world.pull(Bot(three), await world.enqueue())
        await world.until(lambda: texts(world.sent_to()) == ["一", "二", "三"], "all three")

    run(tmp_path, test)


def test_a_failed_turn_is_handled_again_and_a_poisoned_one_given_up(tmp_path, caplog):
    async def test(world: World) -> None:
        bot = Bot()
        bot.fail_times = 1
        await world.pull(bot, await world.enqueue(content="第一句"))
        await world.until(lambda: texts(world.sent_to()) == ["收到:第一句"], "the retried turn")
        assert bot.heard == ["第一句", "第一句"]
        # A message whose turn always fails is given up after 3 attempts; the next one is
        # answered (one bad message cannot block the customer's account).
        bot.fail_times = 3
        await world.pull(bot, await world.enqueue(content="坏消息"))
        await world.until(lambda: bot.heard.count("坏消息") == 3, "three attempts")
        await world.pull(bot, await world.enqueue(content="第三句"))
        await world.until(lambda: "收到:第三句" in texts(world.sent_to()), "the next message")
        assert bot.heard.count("坏消息") == 3

    run(tmp_path, test)
    assert "Traceback" in caplog.text and "RuntimeError: the bot failed" in caplog.text
    assert "given up after repeated failures" in caplog.text


def test_a_failed_sync_msg_is_pulled_again_without_a_new_callback(tmp_path, caplog):
    async def test(world: World) -> None:
        bot = Bot()
        await world.set(fail={"sync_msg": 503})
        await world.pull(bot, await world.enqueue(content="包邮吗"))
        assert bot.heard == []
        await world.until(lambda: world.sim.calls["sync_msg"] >= 2, "a re-pull")
        await world.set(fail={})
        await world.until(lambda: texts(world.sent_to()) == ["收到:包邮吗"], "the reply")

    run(tmp_path, test)
    assert "sync_msg failed for wkSIMKF0001: WeCom API error -503" in caplog.text


def test_an_unexpected_error_in_the_background_pull_is_logged(tmp_path, caplog):
    async def test(world: World) -> None:
        original = world.store.cursor
        calls = {"n": 0}

        def broken(open_kfid: str) -> str:
            calls["n"] += 1
            if calls["n"] == 1:
                raise OSError("disk full")
            return original(open_kfid)

        world.store.cursor = broken  # type: ignore[method-assign]
        bot = Bot()
        await world.pull(bot, await world.enqueue())
        await world.until(lambda: texts(world.sent_to()) == ["收到:在吗"], "the reply")

    run(tmp_path, test)
    assert "pulling wkSIMKF0001 failed" in caplog.text and "OSError: disk full" in caplog.text


# ----------------------------------------------------------------------- 2. limits

def test_five_messages_per_customer_message_then_95001_is_survived(tmp_path, caplog):
    async def test(world: World) -> None:
        async def six(message: UserMessage) -> None:
            for number in range(1, 7):
                await message.output_channel.send_text_message(message.sender_id, f"第{number}条")

        await world.pull(Bot(six), await world.enqueue())
        assert texts(world.sent_to()) == [f"第{n}条" for n in range(1, 6)]
        assert world.sim.calls["send_msg"] == 5  # the channel counted: no 6th attempt
        # An instance that lost its count (a fresh database) sends a 6th: WeCom says 95001,
        # the channel logs it, sends nothing more to this customer and does not fail.
        other = WeComInput(CORP, SECRET, "SimToken42", AES_KEY, world.url,
                           f"sqlite:///{world.store.engine.url.database}.2", clock=world.sim.now)
        assert other.store is not None
        other.store.customer_wrote("wmCustomer", KF)
        output = WeComOutput(other.api, other.store, KF)
        await output.send_text_message("wmCustomer", "第6条")
        await output.send_text_message("wmCustomer", "第7条")
        await other.api.close()
        assert world.sim.calls["send_msg"] == 6 and len(world.sent_to()) == 5
        assert other.store.queued(KF) == []  # a refusal is not retried

    run(tmp_path, test)
    assert "WeCom refused a message to wmCust (95001)" in caplog.text


def test_no_sending_48_hours_after_the_customers_last_message(tmp_path, caplog):
    async def test(world: World) -> None:
        await world.pull(Bot(), await world.enqueue(content="你好"))
        assert texts(world.sent_to()) == ["收到:你好"]
        await world.set(advance=48 * 3600 + 1)  # the simulator's and the channel's clock
        await world.set(expire_tokens=True)
        await world.output().send_text_message("wmCustomer", "还在吗")
        assert world.sim.calls["send_msg"] == 1  # not even tried
        # The customer writes again: the window opens again.
        await world.pull(Bot(), await world.enqueue(content="在的"))
        assert texts(world.sent_to()) == ["收到:你好", "收到:在的"]

    run(tmp_path, test)
    assert "not sent to wmCust: 5 messages or 48 h" in caplog.text


# ------------------------------------------------------------- 3. outbound messages

def test_images_links_and_menus_within_wecoms_limits(tmp_path):
    async def test(world: World) -> None:
        await world.pull(Bot(lambda message: asyncio.sleep(0)), await world.enqueue())
        output, user = world.output(), "wmCustomer"
        data_url = "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()
        await output.send_image_url(user, data_url)
        await output.send_image_url(user, f"{world.url}/sim/web/picture.png")
        await output.send_image_url(user, f"{world.url}/sim/web/page.html")  # not a picture
        await output.send_custom_json(user, {"card": {"title": "商品" * 100, "subtitle": "好",
                                                      "url": "https://shop.example/p/1"}})
        sent = world.sent_to()
        assert [message["msgtype"] for message in sent] == ["image", "image", "link", "link"]
        for message in sent[:2]:  # uploaded pictures: the bytes the bot showed
            assert world.sim.media[message["image"]["media_id"]] == (PNG_1X1, "image/png")
        links = [message["link"] for message in sent[2:]]
        assert links[0]["url"].endswith("/sim/web/page.html")
        assert len(links[1]["title"].encode()) <= 128 and links[1]["title"].startswith("商品")
        # One thumbnail, uploaded once, for both cards.
        assert links[0]["thumb_media_id"] == links[1]["thumb_media_id"]
        assert world.sim.calls["media/upload"] == 3
        # A menu: a head over 1024 bytes, a title over 128 bytes and a payload over 64 bytes.
        await world.pull(Bot(lambda message: asyncio.sleep(0)), await world.enqueue())
        payload = '/inform{"order_id": "361204587712340001", "reason": "不想要了"}'
        head = "请选择退款原因。" * 60  # 1,440 bytes
        await output.send_text_with_buttons(user, head, [
            {"title": "不想要了" * 20, "payload": payload},
            {"title": "发错货", "payload": "/wrong_item"}])
        menu_messages = world.sent_to()[4:]
        assert [message["msgtype"] for message in menu_messages] == ["text", "msgmenu"]
        menu = menu_messages[-1]["msgmenu"]
        assert len(menu["head_content"].encode()) <= 1024
        assert menu_messages[0]["text"]["content"] + menu["head_content"] == head
        items = [item["click"] for item in menu["list"]]
        assert len(items[0]["content"].encode()) <= 128 and items[0]["content"].startswith("不想")
        assert len(items[0]["id"].encode()) <= 64 and items[1]["id"] == "/wrong_item"
        # The customer clicks the first item: the bot hears the original payload.
        bot = Bot()
        await world.pull(bot, await world.enqueue(
            text={"content": "不想要了", "menu_id": items[0]["id"]}))
        assert bot.heard == [payload]
        refused = [call for call in world.sim.log if call.get("refused")]
        assert refused == []  # every message passed the simulator's checks

    run(tmp_path, test)


def test_the_simulator_refuses_what_breaks_wecoms_limits(tmp_path):
    """The checks the previous test relies on do refuse: a link without a thumbnail, a menu
    head over 1024 bytes, an item id over 64 bytes."""
    async def test(world: World) -> None:
        await world.pull(Bot(lambda message: asyncio.sleep(0)), await world.enqueue())
        user = "wmCustomer"
        for message in (
                {"msgtype": "link", "link": {"title": "t", "url": "https://x.example"}},
                {"msgtype": "msgmenu", "msgmenu": {"head_content": "好" * 342, "list": []}},
                {"msgtype": "msgmenu", "msgmenu": {"list": [
                    {"type": "click", "click": {"id": "x" * 65, "content": "好"}}]}}):
            assert await world.output().deliver(user, message) == wecom.REFUSED
        assert [call["refused"] for call in world.sim.log if call.get("refused")] == [
            40007, 40058, 40058]
        assert world.store.queued(KF) == []

    run(tmp_path, test)


# ---------------------------------------------------------- 4. a WeCom agent has it

def test_nothing_is_sent_while_a_wecom_agent_has_the_session(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="channels.wecom")

    async def test(world: World) -> None:
        await world.pull(Bot(), await world.enqueue(content="转人工"))
        world.store.mark_transferred("wmCustomer", KF)
        await world.pull(Bot(), await world.enqueue(content="还在吗"))
        assert texts(world.sent_to()) == ["收到:转人工"]
        assert world.sim.calls["send_msg"] == 1

    run(tmp_path, test)
    assert "not sent to wmCust: a WeCom agent has the session" in caplog.text


# --------------------------------------------------------------- 6. sync_msg pages

def test_a_pull_reads_every_page_in_order(tmp_path):
    async def test(world: World) -> None:
        await world.set(page_size=2)
        for number in range(5):
            token = await world.enqueue(content=f"消息{number}")
        # Another account's messages are not this account's pages.
        await world.control.request("POST", "/sim/enqueue", json={
            "open_kfid": "wkOTHER", "external_userid": "wmOther", "msgtype": "text",
            "text": {"content": "别人的"}})
        bot = Bot(lambda message: asyncio.sleep(0))
        await world.pull(bot, token)
        assert bot.heard == [f"消息{number}" for number in range(5)]
        pages = [call["body"] for call in world.sim.log if call["api"] == "sync_msg"]
        assert [page["returned"] for page in pages] == [2, 2, 1]
        assert [page["has_more"] for page in pages] == [1, 1, 0]
        assert world.store.cursor(KF) == "5"

    run(tmp_path, test)


def test_an_unknown_callback_token_is_refused_and_the_pull_goes_on_without_it(tmp_path,
                                                                             caplog):
    async def test(world: World) -> None:
        await world.enqueue(content="你好")
        bot = Bot()
        await world.pull(bot, "ENCforged")
        assert bot.heard == ["你好"]
        assert [call.get("refused") for call in world.sim.log
                if call["api"] == "sync_msg"] == [95007, None]

    run(tmp_path, test)
    assert "sync_msg token of wkSIMKF0001 refused (95007): pulling without it" in caplog.text


def test_a_send_while_the_session_is_with_a_wecom_agent_is_refused_by_the_simulator(tmp_path):
    async def test(world: World) -> None:
        await world.pull(Bot(lambda message: asyncio.sleep(0)), await world.enqueue())
        world.sim.service_state["wmCustomer"] = 3  # WeCom's agent took it, the channel missed it
        status = await world.output().deliver("wmCustomer", {"msgtype": "text",
                                                            "text": {"content": "在的"}})
        assert status == wecom.REFUSED and world.sent_to() == []
        assert world.sim.log[-1]["refused"] == 95018

    run(tmp_path, test)


# ------------------------------------------------------------------- 7. bad input

def test_system_and_wecom_agent_messages_and_repeated_msgids_get_no_reply(tmp_path):
    async def test(world: World) -> None:
        await world.enqueue(content="系统消息", origin=4)
        await world.enqueue(content="人工客服说的话", origin=5)
        await world.enqueue(content="重复的", msgid="MSG-DUP")
        token = await world.enqueue(content="重复的", msgid="MSG-DUP")  # pages overlap
        bot = Bot()
        await world.pull(bot, token)
        await world.pull(bot, token)  # a retried callback
        assert bot.heard == ["重复的"]
        assert texts(world.sent_to()) == ["收到:重复的"]

    run(tmp_path, test)


# ------------------------------------------------------ 8. cursor and media bounds

def test_a_cursor_over_64_bytes_is_refused_and_logged(tmp_path, caplog):
    async def test(world: World) -> None:
        world.sim.cursor_pad = 70
        bot = Bot()
        await world.pull(bot, await world.enqueue())
        assert bot.heard == ["在吗"]
        assert world.store.cursor(KF) == ""  # not stored cut: the next pull starts before
        assert not world.channel._retrying  # and it is not retried in a loop

    run(tmp_path, test)
    assert "returned a cursor of 70 bytes (at most 64): refused" in caplog.text


def test_customer_images_are_bounded_and_must_be_images(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(wecom, "MAX_IMAGE_BYTES", 1024)

    async def test(world: World) -> None:
        received: List[Any] = []

        async def keep(message: UserMessage) -> None:
            received.append((message.text, (message.metadata or {}).get("attachments")))

        bot = Bot(keep)
        for data, content_type in ((PNG_1X1, "image/png"), (b"<html>", "text/html"),
                                   (b"\x89PNG" + b"\x00" * 2000, "image/png")):
            await world.pull(bot, await world.enqueue(
                msgtype="image", image_b64=base64.b64encode(data).decode(),
                content_type=content_type))
        assert received[0][0] == "[图片]" and received[0][1] == [{
            "type": "image",
            "url": "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()}]
        assert received[1:] == [("[图片未能接收]", None), ("[图片未能接收]", None)]

    run(tmp_path, test)
    assert "is no image (text/html)" in caplog.text
    assert "image download failed" in caplog.text
