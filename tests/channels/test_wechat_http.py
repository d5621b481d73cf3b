"""The WeCom and Official Account channels' HTTP endpoints, served by a real Sanic server in
this process against the WeCom simulator over HTTP. The bot is a stand-in the test controls,
so the Official Account's two delivery paths are chosen by the test, not by a timing:
a bot that answers at once gets the passive reply, a bot held until WeChat was answered goes
through the customer-service API."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import string
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp
from aiohttp import web
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from wecom_simulator import PNG_1X1, SIM, make_app

from channels.wechat_oa import OfficialAccountInput, plain_signature
from channels.wecom import WeComInput, _xml_fields
from channels.wecom_crypto import WeComCrypto
from service_common.http import NO_RETRY, HttpClient

CORP, SECRET, KF = "wwsimcorp000000001", "sim-secret", "wkSIMKF0001"
TOKEN, OA_TOKEN, PUSH = "SimToken42", "OaToken77", "push-token"
AES_KEY = (string.ascii_letters + string.digits)[:43]
# Several Sanic apps in one process: Sanic's test mode rewrites its methods from the originals
# each time (outside it, the second app fails its source rewrite).
Sanic.test_mode = True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bot:
    """Replies `收到:<text>` (or `reply`); waits for `release` first when it is given."""

    def __init__(self, reply: Optional[str] = None) -> None:
        self.heard: List[UserMessage] = []
        self.reply = reply
        self.release: Optional[asyncio.Event] = None

    async def __call__(self, message: UserMessage) -> None:
        self.heard.append(message)
        if self.release is not None:
            await self.release.wait()
        await message.output_channel.send_text_message(
            message.sender_id, self.reply or f"收到:{message.text}")


class World:
    def __init__(self, sim: Any, sim_url: str, url: str, http: HttpClient, bot: Bot,
                 wecom: WeComInput, oa: OfficialAccountInput) -> None:
        self.sim, self.sim_url, self.url, self.http, self.bot = sim, sim_url, url, http, bot
        self.wecom, self.oa = wecom, oa
        self.crypto = WeComCrypto(TOKEN, AES_KEY, CORP)

    async def until(self, check: Callable[[], bool], what: str, limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while not check():
            assert time.monotonic() < deadline, f"never happened: {what}"
            await asyncio.sleep(0.02)

    # -------------------------------------------------------------------- WeCom
    def callback(self, token: str, encrypted: Optional[str] = None) -> tuple[Dict[str, str],
                                                                              bytes]:
        inner = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><CreateTime>"
                 f"{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event>"
                 "<![CDATA[kf_msg_or_event]]></Event>"
                 f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{KF}]]></OpenKfId></xml>")
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        encrypted = encrypted or self.crypto.encrypt(inner.encode())
        from channels.wecom_crypto import signature
        query = {"msg_signature": signature(TOKEN, timestamp, nonce, encrypted),
                 "timestamp": timestamp, "nonce": nonce}
        body = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        return query, body

    async def post_callback(self, query: Dict[str, str], body: bytes) -> int:
        answer = await self.http.request("POST", f"{self.url}/webhooks/wecom/", params=query,
                                         data=body)
        return answer.status

    async def enqueue(self, user: str, text: str, **body: Any) -> str:
        answer = await self.http.request_json("POST", f"{self.sim_url}/sim/enqueue", json={
            "open_kfid": KF, "external_userid": user, "msgtype": "text",
            "text": {"content": text}, **body})
        return str(answer.data["token"])

    def sent_to(self, user: str) -> List[Dict[str, Any]]:
        return [message for message in self.sim.sent if message.get("touser") == user]

    async def push(self, user: str, text: str, path: str = "wecom") -> tuple[int, Any]:
        """The desk's POST (plain aiohttp: a 502 is an answer to look at here)."""
        async with aiohttp.ClientSession() as session:
            async with session.post(
                    f"{self.url}/webhooks/{path}/push",
                    headers={"Authorization": f"Bearer {PUSH}"},
                    json={"conversation_id": user, "kind": "agent_message",
                          "agent": {"id": "a1", "name": "小王"}, "text": text}) as answer:
                return answer.status, await answer.json()

    # ---------------------------------------------------------- Official Account
    async def oa_post(self, openid: str, inner: str) -> tuple[int, str]:
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
        body = (f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA["
                f"{openid}]]></FromUserName><CreateTime>{timestamp}</CreateTime>{inner}"
                f"<MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>").encode()
        await self.http.request("POST", f"{self.sim_url}/sim/oa_user", json={"openid": openid})
        answer = await self.http.request("POST", f"{self.url}/webhooks/wechat_oa/", params={
            "signature": plain_signature(OA_TOKEN, timestamp, nonce), "timestamp": timestamp,
            "nonce": nonce, "openid": openid}, data=body)
        return answer.status, answer.body.decode()

    async def oa_text(self, openid: str, text: str) -> tuple[int, str]:
        return await self.oa_post(openid, f"<MsgType><![CDATA[text]]></MsgType>"
                                          f"<Content><![CDATA[{text}]]></Content>")


def run(tmp_path: Path, test: Callable[[World], Awaitable[None]], bot: Optional[Bot] = None,
        **oa_options: Any) -> None:
    async def main() -> None:
        sim_app = make_app(CORP, SECRET, 3600)
        runner = web.AppRunner(sim_app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        sim_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore
        wecom = WeComInput(CORP, SECRET, TOKEN, AES_KEY, sim_url,
                           f"sqlite:///{tmp_path}/wecom.sqlite", push_token=PUSH,
                           retry_seconds=0.05)
        oa = OfficialAccountInput(CORP, SECRET, OA_TOKEN, "", sim_url, push_token=PUSH,
                                  **oa_options)
        the_bot = bot or Bot()
        app = Sanic(f"wechat_{uuid.uuid4().hex[:8]}", configure_logging=False)
        app.blueprint(wecom.blueprint(the_bot), url_prefix="/webhooks/wecom")
        app.blueprint(oa.blueprint(the_bot), url_prefix="/webhooks/wechat_oa")
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port,
                                         return_asyncio_server=True)
        assert server is not None
        await server.startup()
        try:
            async with HttpClient(retry=NO_RETRY, timeout=30) as http:
                await test(World(sim_app[SIM], sim_url, f"http://127.0.0.1:{port}", http,
                                 the_bot, wecom, oa))
        finally:
            for task in list(wecom._tasks) + list(oa._tasks):
                task.cancel()
            server.close()
            await server.wait_closed()
            await wecom.api.close()
            await oa.api.close()
            await runner.cleanup()

    asyncio.run(main())


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [message["text"]["content"] for message in messages if message["msgtype"] == "text"]


# ------------------------------------------------------------------------ WeCom

def test_a_tampered_ciphertext_signed_again_is_refused(tmp_path, caplog):
    async def test(world: World) -> None:
        await world.enqueue("wmA", "在吗")
        good = world.crypto.encrypt(b"<xml><OpenKfId>wkSIMKF0001</OpenKfId></xml>")
        raw = bytearray(base64.b64decode(good))
        raw[-20] ^= 0x01  # one bit of the last block: the padding or the corp id breaks
        query, body = world.callback("x", base64.b64encode(bytes(raw)).decode())
        assert await world.post_callback(query, body) == 403  # signed right, still refused
        assert world.bot.heard == [] and world.sim.calls.get("sync_msg") is None

    run(tmp_path, test)
    assert any(record.getMessage().startswith("wecom: callback refused: ")
               for record in caplog.records)


def test_one_message_in_two_differently_signed_callbacks_is_handled_once(tmp_path, caplog):
    caplog.set_level(logging.INFO)

    async def test(world: World) -> None:
        token = await world.enqueue("wmB", "你好")
        first, second = world.callback(token), world.callback(token)
        assert first[0]["msg_signature"] != second[0]["msg_signature"]
        assert await world.post_callback(*first) == 200
        assert await world.post_callback(*second) == 200
        assert await world.post_callback(*second) == 403  # the very same callback: a replay
        await world.until(lambda: world.sim.calls.get("sync_msg", 0) >= 2, "two pulls")
        await world.until(lambda: not world.wecom._tasks, "the pulls to end")
        assert [message.text for message in world.bot.heard] == ["你好"]
        assert texts(world.sent_to("wmB")) == ["收到:你好"]

    run(tmp_path, test)
    assert "wecom: callback refused: replayed callback" in caplog.text


def test_desk_push_refused_while_a_wecom_agent_has_it_and_502_when_wecom_fails(tmp_path):
    async def test(world: World) -> None:
        query, body = world.callback(await world.enqueue("wmC", "转人工"))
        assert await world.post_callback(query, body) == 200
        await world.until(lambda: texts(world.sent_to("wmC")) == ["收到:转人工"], "the reply")
        assert await world.push("wmC", "您好,我是小王") == (200, {"recorded": False,
                                                                "delivered": 1})
        assert await world.push("wmNobody", "您好") == (404, {
            "error": "no WeCom conversation with this id"})
        world.sim.fail = {"send_msg": 500}
        status, answer = await world.push("wmC", "还在吗")
        assert status == 502 and answer["delivered"] == 0
        world.sim.fail = {}
        assert world.wecom.store is not None
        world.wecom.store.mark_transferred("wmC", KF)
        sends = world.sim.calls["send_msg"]
        assert await world.push("wmC", "我来回复") == (409, {
            "error": "a WeCom agent has this conversation"})
        assert world.sim.calls["send_msg"] == sends

    run(tmp_path, test)


# -------------------------------------------------------------- Official Account

def test_official_account_passive_reply_is_one_message_of_at_most_2048_bytes(tmp_path):
    long_answer = "您的订单已发货,请耐心等待。" * 120  # 4,680 bytes

    async def test(world: World) -> None:
        status, answer = await world.oa_text("oShort", "你好")
        assert status == 200 and "<![CDATA[收到:你好]]>" in answer
        world.bot.reply = long_answer
        status, answer = await world.oa_text("oLong", "快递到哪了")
        passive = _xml_fields(answer.encode())["Content"]
        assert len(passive.encode()) <= 2048 and long_answer.startswith(passive)
        await world.until(lambda: len(world.sent_to("oLong")) == 2, "the rest")
        rest = texts(world.sent_to("oLong"))
        assert all(len(piece.encode()) <= 2048 for piece in rest)
        assert passive + "".join(rest) == long_answer
        assert world.sent_to("oShort") == []

    run(tmp_path, test)


def test_official_account_slow_answer_goes_through_the_customer_service_api(tmp_path):
    bot = Bot()
    bot.release = asyncio.Event()

    async def test(world: World) -> None:
        status, answer = await world.oa_text("oSlow", "快递到哪了")
        assert (status, answer) == (200, "success")  # WeChat got its answer in time
        assert world.sent_to("oSlow") == []
        bot.release.set()  # type: ignore[union-attr]
        await world.until(lambda: world.sent_to("oSlow") != [], "the answer")
        assert world.sent_to("oSlow") == [{"touser": "oSlow", "msgtype": "text",
                                           "text": {"content": "收到:快递到哪了"},
                                           "api": "custom_send"}]

    run(tmp_path, test, bot=bot, passive_seconds=0.2)


def test_official_account_quota_is_counted_and_45047_is_survived(tmp_path, caplog):
    async def test(world: World) -> None:
        assert (await world.oa_text("oQuota", "你好"))[0] == 200
        for number in range(3):
            assert await world.push("oQuota", f"第{number}条", "wechat_oa") == (
                200, {"recorded": False, "delivered": number < 2})
        assert world.sim.calls["custom_send"] == 2  # the channel counted: no third attempt
        # A channel that lost its count (a restart) meets WeChat's own limit: 45047.
        world.oa.quota.user_wrote("oQuota")
        world.sim.sent_since["oQuota"] = 20
        assert await world.push("oQuota", "第四条", "wechat_oa") == (
            200, {"recorded": False, "delivered": 0})
        assert await world.push("oQuota", "第五条", "wechat_oa") == (
            200, {"recorded": False, "delivered": 0})
        assert world.sim.calls["custom_send"] == 3
        world.sim.down = True
        world.oa.quota.user_wrote("oQuota")
        status, answer = await world.push("oQuota", "第六条", "wechat_oa")
        assert status == 502 and answer["delivered"] == 0

    run(tmp_path, test, custom_sends=2)
    assert "WeChat refused a message to oQuota (45047)" in caplog.text
    assert "not sent to oQuota: 48 h since the user's last message or the customer-service" \
        in caplog.text


def test_official_account_photo_becomes_an_attachment(tmp_path):
    async def test(world: World) -> None:
        media_id = "M-photo"
        world.sim.media[media_id] = (PNG_1X1, "image/png")
        world.sim.media["M-page"] = (b"<html>", "text/html")
        status, answer = await world.oa_post("oPhoto", "<MsgType><![CDATA[image]]></MsgType>"
                                                       f"<MediaId><![CDATA[{media_id}]]>"
                                                       "</MediaId>")
        assert status == 200 and "收到:[图片]" in answer
        assert world.bot.heard[0].metadata == {"attachments": [{
            "type": "image",
            "url": "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()}]}
        status, answer = await world.oa_post("oPhoto", "<MsgType><![CDATA[image]]></MsgType>"
                                                       "<MediaId><![CDATA[M-page]]></MediaId>")
        assert "收到:[图片未能接收]" in answer and world.bot.heard[1].metadata == {}

    run(tmp_path, test)


# Delays before each new attempt at a reply WeChat did not take: short, and many of them, so
# a test's outage always ends before the channel gives up.
QUICK_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8)


def oa_calls(world: World, user: str) -> List[Dict[str, Any]]:
    """custom/send calls for this user that reached WeChat's checks (a 5xx logs no body)."""
    return [entry for entry in world.sim.log if entry["api"] == "custom_send"
            and (entry.get("body") or {}).get("touser") == user]


def test_official_account_slow_reply_lost_to_an_outage_arrives_once_in_order(tmp_path, caplog):
    long_answer = "您的订单已发货,请耐心等待。" * 120  # three pieces
    bot = Bot(long_answer)
    bot.release = asyncio.Event()

    async def test(world: World) -> None:
        assert await world.oa_text("oDown", "快递到哪了") == (200, "success")
        world.sim.fail = {"custom_send": 500}  # custom/send down when the reply is ready
        bot.release.set()  # type: ignore[union-attr]
        await world.until(lambda: world.sim.calls.get("custom_send", 0) >= 2,
                          "a second attempt during the outage")
        assert world.sent_to("oDown") == [] and world.oa.outbox.waiting("oDown") == 3
        world.sim.fail = {}
        await world.until(lambda: world.sent_to("oDown") != [], "the reply after the outage")
        await world.until(lambda: not world.oa._tasks, "the attempts to end")
        pieces = texts(world.sent_to("oDown"))
        assert len(pieces) == 3 and "".join(pieces) == long_answer  # once each, in order
        assert world.oa.outbox.waiting("oDown") == 0

    run(tmp_path, test, bot=bot, passive_seconds=0.2, retry_seconds=QUICK_RETRIES)
    assert "wechat_oa: 3 message(s) to oDown wait: sending again in" in caplog.text
    assert long_answer[:20] not in caplog.text  # the log names the user, never the text


def test_official_account_refused_reply_is_not_sent_again(tmp_path, caplog):
    bot = Bot()
    bot.release = asyncio.Event()

    async def test(world: World) -> None:
        # Refused at once (45047: the quota WeChat counted): dropped, not kept.
        assert await world.oa_text("oFull", "在吗") == (200, "success")
        world.sim.sent_since["oFull"] = 20
        bot.release.set()  # type: ignore[union-attr]
        await world.until(lambda: len(oa_calls(world, "oFull")) == 1 and not world.oa._tasks,
                          "the refused attempt")
        assert world.oa.outbox.waiting("oFull") == 0 and world.sent_to("oFull") == []
        # Kept after a 5xx, then refused on the next attempt: dropped, never tried again.
        bot.release = asyncio.Event()
        world.sim.fail = {"custom_send": 503}
        assert await world.oa_text("oLate", "在吗") == (200, "success")
        bot.release.set()
        await world.until(lambda: world.oa.outbox.waiting("oLate") == 1, "the reply kept")
        world.sim.sent_since["oLate"] = 20
        world.sim.fail = {}
        await world.until(lambda: not world.oa._tasks, "the attempts to end")
        assert world.oa.outbox.waiting("oLate") == 0 and world.sent_to("oLate") == []
        assert [entry.get("refused") for entry in oa_calls(world, "oLate")] == [45047]
        assert not world.oa.quota.may_send("oLate")  # until the user writes again

    run(tmp_path, test, bot=bot, passive_seconds=0.2, retry_seconds=QUICK_RETRIES)
    assert "WeChat refused a message to oFull (45047)" in caplog.text
    assert "wechat_oa: a message kept for oLate dropped: WeChat refused it" in caplog.text


def test_official_account_kept_replies_wait_in_order_and_go_first_when_the_user_writes(
        tmp_path):
    bot = Bot()
    bot.release = asyncio.Event()

    async def test(world: World) -> None:
        world.sim.fail = {"custom_send": 500}
        assert await world.oa_text("oOrder", "第一") == (200, "success")
        bot.release.set()  # type: ignore[union-attr]
        await world.until(lambda: world.oa.outbox.waiting("oOrder") == 1, "the first reply kept")
        bot.release = asyncio.Event()
        # The user writes again: the attempt at the kept reply fails too (still down).
        assert await world.oa_text("oOrder", "第二") == (200, "success")
        world.sim.fail = {}  # WeChat takes messages again; the channel's next attempt is far off
        bot.release.set()
        await world.until(lambda: world.oa.outbox.waiting("oOrder") == 2
                          or world.sent_to("oOrder") != [], "the second reply")
        assert world.sent_to("oOrder") == []  # it waits behind the first, not ahead of it
        bot.release = None
        status, answer = await world.oa_text("oOrder", "第三")  # sends what waits, then answers
        assert status == 200
        if "收到:第三" in answer:  # the passive reply, after the kept ones went out
            assert texts(world.sent_to("oOrder")) == ["收到:第一", "收到:第二"]
        else:  # a slow machine: the third reply went behind them through the API
            await world.until(lambda: len(world.sent_to("oOrder")) == 3, "all three")
            assert texts(world.sent_to("oOrder")) == ["收到:第一", "收到:第二", "收到:第三"]
        assert world.oa.outbox.waiting("oOrder") == 0

    run(tmp_path, test, bot=bot, passive_seconds=0.2, retry_seconds=(600.0,))
