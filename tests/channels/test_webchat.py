"""The web chat channel against a running stack, with real socket.io clients."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
import socketio

from channels.identity import sign_identity

pytestmark = [pytest.mark.stack, pytest.mark.timeout(1500)]

SOCKET_PATH = "/webhooks/webchat/socket.io"
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def data_url(raw: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(raw).decode()}"


class Chat:
    """One customer's socket: collects what the server sends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: Dict[str, List[Any]] = {}
        for name in ("session_confirm", "bot_message", "typing", "queue", "agent"):
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        async def record(data: Any) -> None:
            self.events.setdefault(name, []).append(data)
        return record

    async def open(self, token: Optional[str] = None, identity: Optional[str] = None,
                   product_id: Optional[str] = None) -> Dict[str, Any]:
        await self.sio.connect(self.url, socketio_path=SOCKET_PATH, transports=["websocket"])
        before = len(self.events.get("session_confirm", []))
        await self.sio.emit("session_request", {"conversation_token": token,
                                                "identity": identity, "product_id": product_id})
        await self.wait("session_confirm", before + 1)
        return self.events["session_confirm"][-1]

    async def wait(self, name: str, count: int = 1, timeout: float = 60) -> List[Any]:
        deadline = time.monotonic() + timeout
        while len(self.events.get(name, [])) < count:
            assert time.monotonic() < deadline, f"no {name} #{count}; got {self.events}"
            await asyncio.sleep(0.05)
        return self.events[name]

    async def say(self, text: Any, **extra: Any) -> Dict[str, Any]:
        return await self.sio.call("user_message", {"text": text, **extra}, timeout=30)

    async def turn(self, text: str, **extra: Any) -> List[Dict[str, Any]]:
        """Sends a message and returns the bot messages of that turn (until bot typing stops)."""
        before = len(self.events.get("bot_message", []))
        typing_before = len([t for t in self.events.get("typing", []) if not t["on"]])
        reply = await self.say(text, **extra)
        assert reply == {"ok": True}, reply
        deadline = time.monotonic() + 60
        while len([t for t in self.events.get("typing", []) if not t["on"]]) <= typing_before:
            assert time.monotonic() < deadline, "the bot never finished its turn"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        return self.events.get("bot_message", [])[before:]

    async def close(self) -> None:
        await self.sio.disconnect()


async def tracker(env: Dict[str, Any], rasa: str, conversation_id: str) -> Dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{rasa}/conversations/{conversation_id}/tracker",
                               params={"token": env["RASA_API_TOKEN"]}) as reply:
            assert reply.status == 200
            return await reply.json()


def user_events(tracker_json: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [e for e in tracker_json["events"] if e["event"] == "user"]


async def push(rasa: str, body: Any, token: Optional[str]) -> tuple[int, Dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{rasa}/webhooks/webchat/push", data=data,
                                headers={**headers, "Content-Type": "application/json"}) as reply:
            return reply.status, await reply.json()


def run(coro: Any) -> Any:
    return asyncio.get_event_loop_policy().new_event_loop().run_until_complete(coro)


@pytest.fixture(scope="module")
def stackinfo(webchat_stack: Dict[str, Any]) -> Dict[str, Any]:
    return webchat_stack


def test_conversation_with_the_bot_and_bot_typing(stackinfo: Dict[str, Any]) -> None:
    async def scenario() -> None:
        chat = Chat(stackinfo["rasa"])
        confirm = await chat.open()
        assert confirm["conversation_id"].startswith("wc-")
        assert confirm["verified"] is False and confirm["history"] == []
        assert set(confirm["office_hours"]) == {"open", "from", "to"}
        messages = await chat.turn("包邮吗")
        assert any("包邮" in m["text"] for m in messages), messages
        assert all(m["source"] == "bot" for m in messages)
        typing = chat.events["typing"]
        assert typing[0] == {"who": "bot", "on": True, "agent": None}
        assert typing[-1]["on"] is False
        await chat.close()
    run(scenario())


def test_reconnect_and_reload_keep_the_conversation(stackinfo: Dict[str, Any]) -> None:
    async def scenario() -> None:
        chat = Chat(stackinfo["rasa"])
        first = await chat.open()
        await chat.turn("在吗")
        await chat.close()
        # A reload: a new socket with the stored token, on the other instance even.
        again = Chat(stackinfo["rasa2"])
        second = await again.open(token=first["conversation_token"])
        assert second["conversation_id"] == first["conversation_id"]
        assert [line["text"] for line in second["history"] if line["role"] == "customer"] == \
            ["在吗"]
        assert any(line["role"] == "bot" for line in second["history"])
        await again.turn("包邮吗")
        events = user_events(await tracker(stackinfo["env"], stackinfo["rasa"],
                                           first["conversation_id"]))
        assert [e["text"] for e in events] == ["在吗", "包邮吗"]
        # A forged or foreign token starts a new conversation, never someone else's.
        forged = first["conversation_token"][:-3] + "AAA"
        third = Chat(stackinfo["rasa"])
        other = await third.open(token=forged)
        assert other["conversation_id"] != first["conversation_id"]
        await again.close()
        await third.close()
    run(scenario())


def test_identity_verified_forged_expired_and_claimed(stackinfo: Dict[str, Any]) -> None:
    secret = stackinfo["env"]["CHANNEL_IDENTITY_SECRET"]

    async def metadata_after(token: Optional[str], **extra: Any) -> Dict[str, Any]:
        chat = Chat(stackinfo["rasa"])
        confirm = await chat.open(identity=token, product_id="P5002")
        await chat.turn("在吗", **extra)
        await chat.close()
        events = user_events(await tracker(stackinfo["env"], stackinfo["rasa"],
                                           confirm["conversation_id"]))
        return {"verified": confirm["verified"], "metadata": events[-1]["metadata"]}

    async def scenario() -> None:
        good = await metadata_after(sign_identity(
            {"customer_id": "C0001", "product_id": "P5001"}, secret))
        assert good["verified"] is True
        assert good["metadata"]["identity"] == {"customer_id": "C0001", "verified": True}
        assert good["metadata"]["product_id"] == "P5001"  # the signed product wins
        forged = await metadata_after(sign_identity({"customer_id": "C0001"}, "not-the-secret"))
        expired = await metadata_after(sign_identity({"customer_id": "C0001"}, secret,
                                                     now=time.time() - 7200))
        claimed = await metadata_after(None, metadata={"identity": {
            "customer_id": "C0001", "verified": True}}, identity={"customer_id": "C0001"})
        for anonymous in (forged, expired, claimed):
            assert anonymous["verified"] is False
            assert "identity" not in anonymous["metadata"]
            assert anonymous["metadata"]["product_id"] == "P5002"
    run(scenario())


def test_a_token_issued_to_another_customer_starts_a_new_conversation(
        stackinfo: Dict[str, Any]) -> None:
    secret = stackinfo["env"]["CHANNEL_IDENTITY_SECRET"]

    async def scenario() -> None:
        chat = Chat(stackinfo["rasa"])
        wang = await chat.open(identity=sign_identity({"customer_id": "C0001"}, secret))
        await chat.close()
        chat = Chat(stackinfo["rasa"])
        li = await chat.open(token=wang["conversation_token"],
                             identity=sign_identity({"customer_id": "C0002"}, secret))
        assert li["conversation_id"] != wang["conversation_id"] and li["history"] == []
        await chat.close()
    run(scenario())


def test_push_auth_and_bad_input(stackinfo: Dict[str, Any]) -> None:
    rasa, token = stackinfo["rasa"], stackinfo["env"]["CHANNEL_PUSH_TOKEN"]
    agent = {"id": "a1", "name": "小王"}

    async def scenario() -> None:
        chat = Chat(rasa)
        confirm = await chat.open()
        await chat.turn("在吗")
        cid = confirm["conversation_id"]
        ok = {"conversation_id": cid, "kind": "agent_message", "agent": agent, "text": "您好"}
        assert (await push(rasa, ok, None))[0] == 401
        status, body = await push(rasa, ok, "wrong-token")
        assert status == 401 and body["error"] == "unauthorized"
        bad_bodies = [b"{not json", "[1, 2]", {**ok, "kind": "dance"}, {**ok, "agent": None},
                      {**ok, "agent": {"id": "a1", "name": ""}}, {**ok, "text": 5},
                      {**ok, "text": "", "image": None}, {**ok, "text": "x" * 5001},
                      {"conversation_id": cid, "kind": "queue", "position": -1,
                       "wait_minutes": 2}, {"conversation_id": cid, "kind": "queue",
                                            "position": "3", "wait_minutes": 2},
                      {**ok, "conversation_id": ""}, {**ok, "image": "javascript:alert(1)"}]
        for bad in bad_bodies:
            status, body = await push(rasa, bad, token)
            assert status == 400 and body["error"] == "bad_request" and body["message"], bad
        status, body = await push(rasa, {**ok, "conversation_id": "wc-" + "0" * 32}, token)
        assert status == 404 and body["error"] == "unknown_conversation"
        events = await tracker(stackinfo["env"], rasa, cid)
        assert not [e for e in events["events"]
                    if e["event"] == "bot" and (e.get("metadata") or {}).get("source") == "desk"]
        await chat.close()
    run(scenario())


def test_push_reaches_the_customer_live_and_is_recorded(stackinfo: Dict[str, Any]) -> None:
    rasa, token = stackinfo["rasa"], stackinfo["env"]["CHANNEL_PUSH_TOKEN"]
    agent = {"id": "agent-7", "name": "小王"}

    async def scenario() -> None:
        chat = Chat(rasa)
        confirm = await chat.open()
        await chat.turn("在吗")
        cid = confirm["conversation_id"]
        bots = len(chat.events["bot_message"])
        status, body = await push(rasa, {"conversation_id": cid, "kind": "queue",
                                         "position": 3, "wait_minutes": 4}, token)
        assert (status, body) == (200, {"recorded": False, "delivered": 1})
        assert (await chat.wait("queue"))[-1] == {"position": 3, "wait_minutes": 4}
        status, body = await push(rasa, {"conversation_id": cid, "kind": "agent_joined",
                                         "agent": agent}, token)
        assert (status, body) == (200, {"recorded": True, "delivered": 1})
        joined = (await chat.wait("bot_message", bots + 1))[-1]
        assert joined["text"] == "人工客服 小王 已接入" and joined["source"] == "desk"
        assert (await chat.wait("agent"))[-1] == {"event": "joined", "agent": agent}
        typing_before = len(chat.events["typing"])
        status, body = await push(rasa, {"conversation_id": cid, "kind": "typing",
                                         "agent": agent}, token)
        assert status == 200 and body["recorded"] is False
        typing = await chat.wait("typing", typing_before + 1)
        assert {"who": "agent", "on": True, "agent": agent} in typing
        status, body = await push(rasa, {"conversation_id": cid, "kind": "agent_message",
                                         "agent": agent, "text": "<b>您好</b>,我来帮您处理",
                                         "image": "https://example.com/a.png"}, token)
        assert (status, body) == (200, {"recorded": True, "delivered": 1})
        said = (await chat.wait("bot_message", bots + 2))[-1]
        assert said["text"] == "<b>您好</b>,我来帮您处理" and said["agent"] == agent
        assert said["image"] == "https://example.com/a.png"
        status, body = await push(rasa, {"conversation_id": cid, "kind": "agent_left",
                                         "agent": agent}, token)
        assert status == 200 and body["recorded"] is False
        assert (await chat.wait("agent", 2))[-1]["event"] == "left"
        recorded = [e for e in (await tracker(stackinfo["env"], rasa, cid))["events"]
                    if e["event"] == "bot" and (e.get("metadata") or {}).get("source") == "desk"]
        assert [(e["text"], e["metadata"]["agent_id"], e["metadata"]["agent_name"])
                for e in recorded] == [("人工客服 小王 已接入", "agent-7", "小王"),
                                       ("<b>您好</b>,我来帮您处理", "agent-7", "小王")]
        # The customer comes back later: the agent's messages are in the history.
        await chat.close()
        await asyncio.sleep(1)  # the server notices the disconnect
        status, body = await push(rasa, {"conversation_id": cid, "kind": "agent_message",
                                         "agent": agent, "text": "还在吗?"}, token)
        assert (status, body) == (200, {"recorded": True, "delivered": 0})
        back = Chat(rasa)
        again = await back.open(token=confirm["conversation_token"])
        desk_lines = [line for line in again["history"] if line.get("source") == "desk"]
        assert [line["text"] for line in desk_lines][-1] == "还在吗?"
        assert desk_lines[-1]["agent"] == {"id": "agent-7", "name": "小王"}
        await back.close()
    run(scenario())


def test_push_through_one_instance_reaches_a_socket_on_the_other(
        stackinfo: Dict[str, Any]) -> None:
    token = stackinfo["env"]["CHANNEL_PUSH_TOKEN"]

    async def scenario() -> None:
        chat = Chat(stackinfo["rasa2"])  # the socket lives on instance B
        confirm = await chat.open()
        await chat.turn("在吗")
        before = len(chat.events["bot_message"])
        status, body = await push(stackinfo["rasa"], {  # pushed through instance A
            "conversation_id": confirm["conversation_id"], "kind": "agent_message",
            "agent": {"id": "a2", "name": "小李"}, "text": "跨实例的消息"}, token)
        assert (status, body) == (200, {"recorded": True, "delivered": 1})
        message = (await chat.wait("bot_message", before + 1))[-1]
        assert message["text"] == "跨实例的消息" and message["agent"]["name"] == "小李"
        await chat.close()
    run(scenario())


def test_rasa_api_execute_reaches_the_live_chat(stackinfo: Dict[str, Any]) -> None:
    """The desk's resolve: resume, then execute the rating question on the latest channel."""
    env, rasa = stackinfo["env"], stackinfo["rasa"]

    async def scenario() -> None:
        chat = Chat(stackinfo["rasa2"])
        confirm = await chat.open()
        await chat.turn("在吗")
        before = len(chat.events["bot_message"])
        async with aiohttp.ClientSession() as session:
            async with session.post(
                    f"{rasa}/conversations/{confirm['conversation_id']}/execute",
                    params={"token": env["RASA_API_TOKEN"], "output_channel": "latest"},
                    json={"name": "action_ask_rating"}) as reply:
                assert reply.status == 200
        message = (await chat.wait("bot_message", before + 1))[-1]
        assert "满意" in message["text"]
        assert [b["payload"] for b in message["buttons"]][0] == '/rate_service{"rating": "5"}'
        rated = await chat.turn('/rate_service{"rating": "5"}', display="非常满意 5分")
        assert any("评价" in m["text"] for m in rated), rated
        await chat.close()
    run(scenario())


def test_paused_conversation_goes_to_the_desk(stackinfo: Dict[str, Any]) -> None:
    env, rasa, recorder = stackinfo["env"], stackinfo["rasa"], stackinfo["recorder"]

    async def scenario() -> None:
        chat = Chat(rasa)
        confirm = await chat.open()
        await chat.turn("在吗")
        cid = confirm["conversation_id"]
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{rasa}/conversations/{cid}/tracker/events",
                                    params={"token": env["RASA_API_TOKEN"]},
                                    json=[{"event": "pause"}]) as reply:
                assert reply.status == 200
        before = len(recorder.events)
        assert await chat.turn("我的快递到底到哪了", attachments=[
            {"type": "image", "url": data_url(PNG_1PX)}]) == []  # the bot stays silent
        deadline = time.monotonic() + 10
        while len(recorder.events) <= before:
            assert time.monotonic() < deadline, "nothing reached the desk"
            await asyncio.sleep(0.05)
        event = recorder.events[-1]
        assert event["conversation_id"] == cid and event["kind"] == "customer_message"
        assert event["text"] == "我的快递到底到哪了"
        assert event["attachments"] == [{"type": "image", "url": data_url(PNG_1PX)}]
        assert isinstance(event["time"], float)
        await chat.sio.emit("typing", {"on": True})
        while not any(e["kind"] == "customer_typing" for e in recorder.events[before:]):
            assert time.monotonic() < deadline + 5, "typing never reached the desk"
            await asyncio.sleep(0.05)
        # Stored by Rasa first, whatever the desk does.
        assert user_events(await tracker(env, rasa, cid))[-1]["text"] == "我的快递到底到哪了"
        assert recorder.unauthorised == 0
        await chat.close()
    run(scenario())


def test_hostile_payloads(stackinfo: Dict[str, Any]) -> None:
    async def scenario() -> None:
        chat = Chat(stackinfo["rasa"])
        confirm = await chat.open()
        for payload in (None, 123, [1, 2], "", {"text": 5}, {"text": None},
                        {"text": "   "}, {"text": "hi", "attachments": "x"},
                        {"text": "hi", "attachments": [{"type": "video", "url": "x"}]},
                        {"text": "hi", "leave_message": "x"}, {"text": {"$gt": ""}}):
            reply = await chat.sio.call("user_message", payload, timeout=30)
            assert reply["ok"] is False and reply["error"], payload
        huge = await chat.say("好" * (1024 * 1024))
        assert huge == {"ok": False, "error": "消息太长啦,一次最多2000个字,请分几次发送哦。"}
        await chat.sio.emit("typing", "nonsense")
        await chat.sio.emit("session_request", "nonsense")
        await chat.wait("session_confirm", 2)
        confirm = chat.events["session_confirm"][-1]  # a fresh, working session
        cid = confirm["conversation_id"]
        texts = ["\x00你\x07好\x1b[31m啊\u0085", "😀" * 1500,
                 "<script>alert(1)</script><img src=x onerror=alert(2)>",
                 "'; DROP TABLE events; --", "第一行\r\n第二行\t制表"]
        for text in texts:
            replies = await chat.turn(text)
            assert replies, f"no answer to {text[:20]!r}"
        stored = [e["text"] for e in user_events(await tracker(
            stackinfo["env"], stackinfo["rasa"], cid))]
        assert stored == ["你好[31m啊", "😀" * 1500,
                          "<script>alert(1)</script><img src=x onerror=alert(2)>",
                          "'; DROP TABLE events; --", "第一行\n第二行\t制表"]
        await chat.close()
    run(scenario())


def test_photo_upload_limits(stackinfo: Dict[str, Any]) -> None:
    async def scenario() -> None:
        chat = Chat(stackinfo["rasa"])
        confirm = await chat.open()
        big_png = PNG_1PX + b"\0" * (10 * 1024 * 1024)  # a little over 10 MB
        just_fits = PNG_1PX + b"\0" * (10 * 1024 * 1024 - len(PNG_1PX))
        refused = [
            [{"type": "image", "url": data_url(big_png)}],
            [{"type": "image", "url": data_url(b"%PDF-1.4 not an image")}],
            [{"type": "image", "url": data_url(b"%PDF-1.4", "application/pdf")}],
            [{"type": "image", "url": "https://evil.example.com/x.png"}],
            [{"type": "image", "url": "data:image/png;base64,@@@@"}],
            [{"type": "image", "url": data_url(PNG_1PX)}] * 10,
        ]
        for attachments in refused:
            reply = await chat.say("", attachments=attachments)
            assert reply["ok"] is False and "图片" in reply["error"], reply
        replies = await chat.turn("", attachments=[{"type": "image", "url": data_url(just_fits)}])
        assert replies
        await chat.turn("看看这个", attachments=[{"type": "image", "url": data_url(PNG_1PX)}])
        events = user_events(await tracker(stackinfo["env"], stackinfo["rasa"],
                                           confirm["conversation_id"]))
        assert len(events) == 2
        assert events[0]["metadata"]["attachments"][0]["url"] == data_url(just_fits)
        assert events[1]["text"] == "看看这个"
        assert events[1]["metadata"]["attachments"] == [
            {"type": "image", "url": data_url(PNG_1PX)}]
        await chat.close()
    run(scenario())


def test_leave_a_message_files_a_callback(stackinfo: Dict[str, Any]) -> None:
    async def scenario() -> None:
        chat = Chat(stackinfo["rasa"])
        confirm = await chat.open()
        bad = await chat.say("/request_human", leave_message={"name": "王", "phone": "123",
                                                              "content": "x"})
        assert bad["ok"] is False and "手机号" in bad["error"]
        replies = await chat.turn("/request_human", leave_message={
            "name": "王先生", "phone": "13812345678", "content": "耳机左边没声音,请回电"})
        assert any("人工" in m["text"] or "客服" in m["text"] for m in replies), replies
        events = user_events(await tracker(stackinfo["env"], stackinfo["rasa"],
                                           confirm["conversation_id"]))
        assert events[-1]["metadata"]["leave_message"]["content"] == "耳机左边没声音,请回电"
        await chat.close()
    run(scenario())


def test_static_page_widget_and_health(stackinfo: Dict[str, Any]) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{stackinfo['rasa']}/webhooks/webchat/health") as reply:
                assert (await reply.json()) == {"status": "ok", "redis": True}
            async with session.get(f"{stackinfo['rasa']}/webhooks/webchat/widget.js") as reply:
                assert reply.status == 200 and "javascript" in reply.headers["Content-Type"]
            async with session.get(f"{stackinfo['rasa']}/webhooks/webchat/") as reply:
                page = await reply.text()
                assert reply.status == 200 and '<meta charset="utf-8">' in page
            async with session.get(
                    f"{stackinfo['rasa']}/webhooks/webchat/assets/..%2F..%2Fcredentials.yml") \
                    as reply:
                assert reply.status == 404
    run(scenario())


def test_push_latency_across_instances(stackinfo: Dict[str, Any]) -> None:
    """100 agent messages pushed through instance A to a socket on instance B: every one
    arrives, in order; prints p50/p95 from the push request to the socket event (-s)."""
    token = stackinfo["env"]["CHANNEL_PUSH_TOKEN"]

    async def scenario() -> List[float]:
        chat = Chat(stackinfo["rasa2"])
        confirm = await chat.open()
        await chat.turn("在吗")
        before = len(chat.events["bot_message"])
        timings = []
        for number in range(100):
            started = time.perf_counter()
            status, _ = await push(stackinfo["rasa"], {
                "conversation_id": confirm["conversation_id"], "kind": "agent_message",
                "agent": {"id": "a9", "name": "小周"}, "text": f"第{number}条"}, token)
            assert status == 200
            await chat.wait("bot_message", before + number + 1, timeout=30)
            timings.append((time.perf_counter() - started) * 1000)
        texts = [m["text"] for m in chat.events["bot_message"][before:]]
        assert texts == [f"第{n}条" for n in range(100)]
        await chat.close()
        return timings

    timings = sorted(run(scenario()))
    print(f"\npush (instance A) -> socket (instance B), 100 messages: "
          f"p50 {timings[49]:.1f} ms, p95 {timings[94]:.1f} ms, max {timings[-1]:.1f} ms")
