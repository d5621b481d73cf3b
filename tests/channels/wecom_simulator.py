"""A local simulator of the WeCom 微信客服 and Official Account server APIs (public documentation).

Run: python tests/channels/wecom_simulator.py --port 8123 --token-ttl 3600
It serves gettoken, kf/sync_msg (a queue and a cursor per open_kfid, pages of at most `limit`
or the page size set under /sim/control, has_more; the callback's token checked),
kf/send_msg (recorded; the 48 h / 5-message rule enforced with errcode 95001, the session
state with 95018, the documented size limits of text, msgmenu, link and image messages with
44004 / 40058 / 40007), kf/send_msg_on_event, kf/service_state/trans, media/upload and
media/get, the Official Account's token and message/custom/send (48 h and the per-message
quota: 45015 / 45047), and expires access tokens (errcode 42001). Control endpoints for tests
live under /sim/: enqueue, oa_user, state, control (down, fail one API, expire tokens,
advance the clock, page size), picture.png.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import time
from typing import Any, Dict, List, Optional

from aiohttp import web

SEND_WINDOW = 48 * 3600
SENDS_PER_CUSTOMER_MESSAGE = 5
OA_SENDS_PER_USER_MESSAGE = 20
CALLBACK_TOKEN_TTL = 600
# service_state: 0 new, 1 with the assistant (API), 2 waiting for an agent, 3 with an agent,
# 4 ended. The API may send only while the session is new or with the assistant.
SENDABLE_STATES = (0, 1)
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


def invalid(errcode: int, errmsg: str) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg})


class Simulator:
    def __init__(self, corp_id: str, secret: str, token_ttl: float) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.token_ttl = token_ttl
        self.offset = 0.0  # seconds the simulated clock is ahead of the real one
        self.tokens: Dict[str, float] = {}
        self.callback_tokens: Dict[str, float] = {}
        self.queues: Dict[str, List[Dict[str, Any]]] = {}  # open_kfid -> messages; cursor = index
        self.page_size: Optional[int] = None
        self.cursor_pad = 0  # next_cursor zero-padded to this many characters (a test of limits)
        self.sent: List[Dict[str, Any]] = []
        self.events: List[Dict[str, Any]] = []  # welcome messages, transfers
        self.media: Dict[str, tuple] = {}
        self.customer_last: Dict[str, float] = {}
        self.sent_since: Dict[str, int] = {}
        self.service_state: Dict[str, int] = {}
        self.down = False
        self.fail: Dict[str, int] = {}  # API name -> HTTP status it answers with
        self.calls: Dict[str, int] = {}
        self.log: List[Dict[str, Any]] = []  # every API call in order (for a transcript)
        self._ids = itertools.count(1)

    def now(self) -> float:
        return time.time() + self.offset

    # ----------------------------------------------------------------- helpers
    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        self.log.append({"at": round(time.time(), 3), "api": name})

    def _token_error(self, request: web.Request, name: str) -> Any:
        if self.down:
            return web.json_response({"errcode": -1, "errmsg": "system busy"}, status=503)
        if name in self.fail:
            self.log[-1]["failed"] = self.fail[name]
            return web.json_response({"errcode": -1, "errmsg": "system busy"},
                                     status=self.fail[name])
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return invalid(40014, "invalid access_token")
        if self.now() > self.tokens[token]:
            return invalid(42001, "access_token expired")
        return None

    def _refuse(self, errcode: int, errmsg: str) -> web.Response:
        self.log[-1]["refused"] = errcode
        return invalid(errcode, errmsg)

    # --------------------------------------------------------------------- API
    async def gettoken(self, request: web.Request) -> web.Response:
        self._count("gettoken")
        if request.query.get("corpid") != self.corp_id or \
                request.query.get("corpsecret") != self.secret:
            return invalid(40013, "invalid corpid")
        token = f"T{next(self._ids)}"
        self.tokens[token] = self.now() + self.token_ttl
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token,
                                  "expires_in": int(self.token_ttl)})

    async def oa_token(self, request: web.Request) -> web.Response:
        """The Official Account's access token (grant_type=client_credential)."""
        self._count("oa_token")
        if request.query.get("appid") != self.corp_id or \
                request.query.get("secret") != self.secret:
            return invalid(40013, "invalid appid")
        token = f"T{next(self._ids)}"
        self.tokens[token] = self.now() + self.token_ttl
        return web.json_response({"access_token": token, "expires_in": int(self.token_ttl)})

    async def custom_send(self, request: web.Request) -> web.Response:
        """The Official Account's customer-service message API: within 48 h of the user's
        last message (45015) and at most OA_SENDS_PER_USER_MESSAGE after it (45047)."""
        self._count("custom_send")
        error = self._token_error(request, "custom_send")
        if error is not None:
            return error
        body = await request.json()
        self.log[-1]["body"] = body
        user = body.get("touser", "")
        last = self.customer_last.get(user)
        if last is None or self.now() - last > SEND_WINDOW:
            return self._refuse(45015, "response out of time limit")
        if self.sent_since.get(user, 0) >= OA_SENDS_PER_USER_MESSAGE:
            return self._refuse(45047, "out of response count limit")
        problem = self._check_message(body)
        if problem is not None:
            return self._refuse(*problem)
        self.sent_since[user] = self.sent_since.get(user, 0) + 1
        self.sent.append({**body, "api": "custom_send"})
        return invalid(0, "ok")

    async def sync_msg(self, request: web.Request) -> web.Response:
        self._count("sync_msg")
        error = self._token_error(request, "sync_msg")
        if error is not None:
            return error
        body = await request.json()
        token = body.get("token")
        if token and self.now() > self.callback_tokens.get(token, 0):
            return self._refuse(95007, "invalid msg token")
        queue = self.queues.get(str(body.get("open_kfid") or ""), [])
        try:
            start = int(body.get("cursor") or 0)
        except ValueError:
            return self._refuse(95008, "invalid cursor")
        limit = max(1, min(int(body.get("limit") or 1000), 1000, self.page_size or 1000))
        page = queue[start:start + limit]
        end = start + len(page)
        self.log[-1]["body"] = {"cursor": body.get("cursor"), "returned": len(page),
                                "has_more": int(end < len(queue))}
        return web.json_response({"errcode": 0, "errmsg": "ok",
                                  "next_cursor": str(end).zfill(self.cursor_pad),
                                  "has_more": int(end < len(queue)), "msg_list": page})

    def _check_message(self, body: Dict[str, Any]) -> Optional[tuple]:
        """The documented limits of a message's content; None when it is acceptable."""
        kind = body.get("msgtype")

        def size(value: Any) -> int:
            return len(str(value or "").encode())

        if kind == "text":
            if not 0 < size(body["text"].get("content")) <= 2048:
                return 44004, "text content is empty or over 2048 bytes"
        elif kind == "image":
            if (body.get("image") or {}).get("media_id") not in self.media:
                return 40007, "invalid media_id"
        elif kind == "link":
            link = body.get("link") or {}
            if link.get("thumb_media_id") not in self.media:
                return 40007, "invalid thumb_media_id"
            if not 0 < size(link.get("title")) <= 128 or size(link.get("desc")) > 512 \
                    or not 0 < size(link.get("url")) <= 2048:
                return 40058, "link title, desc or url out of range"
        elif kind == "msgmenu":
            menu = body.get("msgmenu") or {}
            if size(menu.get("head_content")) > 1024 or size(menu.get("tail_content")) > 1024:
                return 40058, "head_content over 1024 bytes"
            items = menu.get("list") or []
            if len(items) > 10:
                return 40058, "more than 10 menu items"
            for item in items:
                click = item.get("click") or {}
                if item.get("type") != "click" or not 0 < size(click.get("id")) <= 64 \
                        or not 0 < size(click.get("content")) <= 128:
                    return 40058, "menu item id over 64 or content over 128 bytes"
        else:
            return 40008, "invalid message type"
        return None

    async def send_msg(self, request: web.Request) -> web.Response:
        self._count("send_msg")
        error = self._token_error(request, "send_msg")
        if error is not None:
            return error
        body = await request.json()
        self.log[-1]["body"] = body
        user = body.get("touser", "")
        last = self.customer_last.get(user)
        if last is None or self.now() - last > SEND_WINDOW \
                or self.sent_since.get(user, 0) >= SENDS_PER_CUSTOMER_MESSAGE:
            return self._refuse(95001, "send msg count limit")
        if self.service_state.get(user, 0) not in SENDABLE_STATES:
            return self._refuse(95018, "invalid service state")
        problem = self._check_message(body)
        if problem is not None:
            return self._refuse(*problem)
        self.sent_since[user] = self.sent_since.get(user, 0) + 1
        self.service_state[user] = 1
        self.sent.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": f"S{next(self._ids)}"})

    async def send_msg_on_event(self, request: web.Request) -> web.Response:
        self._count("send_msg_on_event")
        error = self._token_error(request, "send_msg_on_event")
        if error is not None:
            return error
        body = await request.json()
        self.log[-1]["body"] = body
        self.events.append({"type": "welcome", **body})
        return invalid(0, "ok")

    async def service_state_trans(self, request: web.Request) -> web.Response:
        self._count("service_state/trans")
        error = self._token_error(request, "service_state/trans")
        if error is not None:
            return error
        body = await request.json()
        self.log[-1]["body"] = body
        self.service_state[body.get("external_userid", "")] = int(body.get("service_state", 0))
        self.events.append({"type": "trans", **body})
        return invalid(0, "ok")

    async def media_upload(self, request: web.Request) -> web.Response:
        self._count("media/upload")
        error = self._token_error(request, "media/upload")
        if error is not None:
            return error
        reader = await request.multipart()
        part = await reader.next()
        data = await part.read() if part is not None else b""  # type: ignore[union-attr]
        media_id = f"M{next(self._ids)}"
        content_type = part.headers.get("Content-Type", "image/jpeg") if part else ""
        self.media[media_id] = (data, content_type)
        self.log[-1]["body"] = {"type": request.query.get("type"), "bytes": len(data),
                                "media_id": media_id}
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "image",
                                  "media_id": media_id})

    async def media_get(self, request: web.Request) -> web.Response:
        self._count("media/get")
        error = self._token_error(request, "media/get")
        if error is not None:
            return error
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return invalid(40007, "invalid media_id")
        return web.Response(body=found[0], content_type=found[1])

    # ----------------------------------------------------------------- control
    async def enqueue(self, request: web.Request) -> web.Response:
        """A customer message (or event) WeCom would hold for sync_msg; the answer carries
        the token a kf_msg_or_event callback would carry."""
        body = await request.json()
        open_kfid = body["open_kfid"]
        message = {"msgid": body.get("msgid") or f"m{next(self._ids)}",
                   "open_kfid": open_kfid, "send_time": int(self.now()),
                   "origin": body.get("origin", 3), "msgtype": body["msgtype"]}
        user = body.get("external_userid")
        if user:
            message["external_userid"] = user
        if body["msgtype"] == "image":
            media_id = f"M{next(self._ids)}"
            self.media[media_id] = (base64.b64decode(body["image_b64"]),
                                    body.get("content_type", "image/png"))
            message["image"] = {"media_id": media_id}
        elif body["msgtype"] == "event":
            message["event"] = body["event"]
            event = body["event"]
            if event.get("event_type") == "session_status_change" and \
                    event.get("change_type") == 3:
                self.service_state[event.get("external_userid", "")] = 4
        else:
            message["text"] = body["text"]
        if message["origin"] == 3 and user:
            self.customer_last[user] = self.now()
            self.sent_since[user] = 0
            if self.service_state.get(user, 0) == 4:
                self.service_state[user] = 0  # a new session
        self.queues.setdefault(open_kfid, []).append(message)
        if message["msgtype"] == "text":  # for a transcript: what the customer wrote
            self.log.append({"at": round(time.time(), 3), "api": "(customer)", "body": {
                "external_userid": user, "text": message["text"].get("content")}})
        token = f"ENC{next(self._ids)}"
        self.callback_tokens[token] = self.now() + CALLBACK_TOKEN_TTL
        return web.json_response({"msgid": message["msgid"], "token": token})

    async def oa_user(self, request: web.Request) -> web.Response:
        """An Official Account user wrote (WeChat knows; it opens the 48 h window)."""
        body = await request.json()
        self.customer_last[body["openid"]] = self.now()
        self.sent_since[body["openid"]] = 0
        return web.json_response({"ok": True})

    async def state(self, request: web.Request) -> web.Response:
        return web.json_response({
            "sent": self.sent, "events": self.events, "calls": self.calls,
            "queued": sum(len(queue) for queue in self.queues.values()), "log": self.log,
            "service_state": self.service_state, "media": sorted(self.media)})

    async def control(self, request: web.Request) -> web.Response:
        body = await request.json()
        if "down" in body:
            self.down = bool(body["down"])
        if "fail" in body:  # {"send_msg": 500} makes only that API fail; {} heals all
            self.fail = {str(name): int(status) for name, status in (body["fail"] or {}).items()}
        if body.get("expire_tokens"):
            self.tokens = {token: 0 for token in self.tokens}
        if body.get("advance"):
            self.offset += float(body["advance"])
        if "cursor_pad" in body:
            self.cursor_pad = int(body["cursor_pad"])
        if "page_size" in body:
            self.page_size = int(body["page_size"]) if body["page_size"] else None
        return web.json_response({"down": self.down, "fail": self.fail, "offset": self.offset})

    async def picture(self, request: web.Request) -> web.Response:
        """A picture on the web (a product photo the bot shows)."""
        if request.match_info["name"] == "picture.png":
            return web.Response(body=PNG_1X1, content_type="image/png")
        return web.Response(text="<html>not a picture</html>", content_type="text/html")


SIM = web.AppKey("sim", Simulator)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(corp_id: str, secret: str, token_ttl: float) -> web.Application:
    sim = Simulator(corp_id, secret, token_ttl)
    app = web.Application(client_max_size=20 * 1024 * 1024)
    app[SIM] = sim
    app.add_routes([
        web.get("/cgi-bin/gettoken", sim.gettoken),
        web.get("/cgi-bin/token", sim.oa_token),
        web.post("/cgi-bin/message/custom/send", sim.custom_send),
        web.post("/cgi-bin/kf/sync_msg", sim.sync_msg),
        web.post("/cgi-bin/kf/send_msg", sim.send_msg),
        web.post("/cgi-bin/kf/send_msg_on_event", sim.send_msg_on_event),
        web.post("/cgi-bin/kf/service_state/trans", sim.service_state_trans),
        web.post("/cgi-bin/media/upload", sim.media_upload),
        web.get("/cgi-bin/media/get", sim.media_get),
        web.post("/sim/enqueue", sim.enqueue),
        web.post("/sim/oa_user", sim.oa_user),
        web.get("/sim/state", sim.state),
        web.post("/sim/control", sim.control),
        web.get("/sim/web/{name}", sim.picture),
        web.get("/health", health),
    ])
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--corp-id", default="wwsimcorp000000001")
    parser.add_argument("--secret", default="sim-secret")
    parser.add_argument("--token-ttl", type=float, default=7200)
    args = parser.parse_args()
    web.run_app(make_app(args.corp_id, args.secret, args.token_ttl), host="127.0.0.1",
                port=args.port, print=None)
