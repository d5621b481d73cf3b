"""A local simulator of the WeCom 微信客服 and Official Account server APIs (public documentation).

Run: python tests/channels/wecom_simulator.py --port 8123 --token-ttl 3600
It serves gettoken, kf/sync_msg (pages of queued messages with a cursor and has_more),
kf/send_msg (recorded; the 48 h / 5-message rule enforced with errcode 95001),
kf/send_msg_on_event, kf/service_state/trans, media/upload and media/get, and expires access
tokens (errcode 42001). Control endpoints for tests live under /sim/.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import time
from typing import Any, Dict, List

from aiohttp import web

SEND_WINDOW = 48 * 3600


class Simulator:
    def __init__(self, corp_id: str, secret: str, token_ttl: float) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.token_ttl = token_ttl
        self.tokens: Dict[str, float] = {}
        self.queue: List[Dict[str, Any]] = []  # every message ever enqueued; cursor = index
        self.sent: List[Dict[str, Any]] = []
        self.events: List[Dict[str, Any]] = []  # welcome messages, transfers
        self.media: Dict[str, tuple] = {}
        self.customer_last: Dict[str, float] = {}
        self.sent_since: Dict[str, int] = {}
        self.down = False
        self.calls: Dict[str, int] = {}
        self.log: List[Dict[str, Any]] = []  # every API call in order (for a transcript)
        self._ids = itertools.count(1)

    # ----------------------------------------------------------------- helpers
    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        self.log.append({"at": round(time.time(), 3), "api": name})

    def _token_error(self, request: web.Request) -> Any:
        if self.down:
            return web.json_response({"errcode": -1, "errmsg": "system busy"}, status=503)
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        if time.time() > self.tokens[token]:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        return None

    # --------------------------------------------------------------------- API
    async def gettoken(self, request: web.Request) -> web.Response:
        self._count("gettoken")
        if request.query.get("corpid") != self.corp_id or \
                request.query.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        token = f"T{next(self._ids)}"
        self.tokens[token] = time.time() + self.token_ttl
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token,
                                  "expires_in": int(self.token_ttl)})

    async def oa_token(self, request: web.Request) -> web.Response:
        """The Official Account's access token (grant_type=client_credential)."""
        self._count("oa_token")
        if request.query.get("appid") != self.corp_id or \
                request.query.get("secret") != self.secret:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        token = f"T{next(self._ids)}"
        self.tokens[token] = time.time() + self.token_ttl
        return web.json_response({"access_token": token, "expires_in": int(self.token_ttl)})

    async def custom_send(self, request: web.Request) -> web.Response:
        """The Official Account's customer-service message API."""
        self._count("custom_send")
        error = self._token_error(request)
        if error is not None:
            return error
        body = await request.json()
        self.sent.append({**body, "api": "custom_send"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def sync_msg(self, request: web.Request) -> web.Response:
        self._count("sync_msg")
        error = self._token_error(request)
        if error is not None:
            return error
        body = await request.json()
        start = int(body.get("cursor") or 0)
        limit = max(1, min(int(body.get("limit") or 1000), 1000))
        page = [m for m in self.queue[start:] if m["open_kfid"] == body.get("open_kfid")][:limit]
        end = start + len(page)
        self.log[-1]["body"] = {"cursor": body.get("cursor"), "returned": len(page)}
        return web.json_response({"errcode": 0, "errmsg": "ok", "next_cursor": str(end),
                                  "has_more": int(end < len(self.queue)), "msg_list": page})

    async def send_msg(self, request: web.Request) -> web.Response:
        self._count("send_msg")
        error = self._token_error(request)
        if error is not None:
            return error
        body = await request.json()
        user = body.get("touser", "")
        last = self.customer_last.get(user)
        if last is None or time.time() - last > SEND_WINDOW or self.sent_since.get(user, 0) >= 5:
            return web.json_response({"errcode": 95001, "errmsg": "send msg count limit"})
        if body.get("msgtype") == "text" and len(body["text"]["content"].encode()) > 2048:
            return web.json_response({"errcode": 44004, "errmsg": "text too long"})
        self.sent_since[user] = self.sent_since.get(user, 0) + 1
        self.sent.append(body)
        self.log[-1]["body"] = body
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": f"S{next(self._ids)}"})

    async def send_msg_on_event(self, request: web.Request) -> web.Response:
        error = self._token_error(request)
        if error is not None:
            return error
        self.events.append({"type": "welcome", **await request.json()})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def service_state_trans(self, request: web.Request) -> web.Response:
        error = self._token_error(request)
        if error is not None:
            return error
        self.events.append({"type": "trans", **await request.json()})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def media_upload(self, request: web.Request) -> web.Response:
        error = self._token_error(request)
        if error is not None:
            return error
        reader = await request.multipart()
        part = await reader.next()
        data = await part.read() if part is not None else b""
        media_id = f"M{next(self._ids)}"
        self.media[media_id] = (data, part.headers.get("Content-Type", "image/jpeg"))
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "image",
                                  "media_id": media_id})

    async def media_get(self, request: web.Request) -> web.Response:
        error = self._token_error(request)
        if error is not None:
            return error
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return web.Response(body=found[0], content_type=found[1])

    # ----------------------------------------------------------------- control
    async def enqueue(self, request: web.Request) -> web.Response:
        """A customer message (or event) WeCom would hold for sync_msg."""
        body = await request.json()
        message = {"msgid": body.get("msgid") or f"m{next(self._ids)}",
                   "open_kfid": body["open_kfid"], "send_time": int(time.time()),
                   "origin": body.get("origin", 3), "msgtype": body["msgtype"]}
        if body.get("external_userid"):
            message["external_userid"] = body["external_userid"]
        if body["msgtype"] == "image":
            media_id = f"M{next(self._ids)}"
            self.media[media_id] = (base64.b64decode(body["image_b64"]), "image/png")
            message["image"] = {"media_id": media_id}
        elif body["msgtype"] == "event":
            message["event"] = body["event"]
        else:
            message["text"] = body["text"]
        if message["origin"] == 3 and message.get("external_userid"):
            self.customer_last[message["external_userid"]] = time.time()
            self.sent_since[message["external_userid"]] = 0
        self.queue.append(message)
        return web.json_response({"msgid": message["msgid"]})

    async def state(self, request: web.Request) -> web.Response:
        return web.json_response({"sent": self.sent, "events": self.events,
                                  "calls": self.calls, "queued": len(self.queue),
                                  "log": self.log})

    async def control(self, request: web.Request) -> web.Response:
        body = await request.json()
        if "down" in body:
            self.down = bool(body["down"])
        if body.get("expire_tokens"):
            self.tokens = {token: 0 for token in self.tokens}
        return web.json_response({"down": self.down})


def make_app(corp_id: str, secret: str, token_ttl: float) -> web.Application:
    sim = Simulator(corp_id, secret, token_ttl)
    app = web.Application(client_max_size=20 * 1024 * 1024)
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
        web.get("/sim/state", sim.state),
        web.post("/sim/control", sim.control),
        web.get("/health", lambda request: web.json_response({"status": "ok"})),
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
