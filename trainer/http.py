"""The trainer's HTTP API and page as a Sanic blueprint, mounted by any app.

    from trainer.http import register
    register(app, auth_check)

`auth_check(request)` (plain or async) decides who may use it: it returns something
falsy to refuse (401), or the caller: a name (str), an object with `.name`, or True.
The desk mounts it behind its login for the trainer and supervisor roles; `trainer/app.py`
runs it alone behind a bearer token. The page (trainer/web, built to trainer/web/dist) is
served at /trainer/ without data in it; everything it shows comes from /trainer/api/*.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Union

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, file, json

from trainer.nlu_files import LabelError
from trainer.service import Trainer

logger = logging.getLogger(__name__)
DIST = Path(__file__).resolve().parent / "web" / "dist"
AuthCheck = Callable[[Request], Union[Any, Awaitable[Any]]]
MAX_KEYS = 500


def _error(status: int, message: str) -> HTTPResponse:
    return json({"error": message}, status=status)


def _actor(principal: Any) -> str:
    if isinstance(principal, str):
        return principal[:100]
    name = getattr(principal, "name", None)
    return str(name)[:100] if name else "trainer"


def blueprint(auth_check: AuthCheck, trainer: Optional[Trainer] = None) -> Blueprint:
    bp = Blueprint("trainer", url_prefix="/trainer")
    state: Dict[str, Trainer] = {}

    def get_trainer() -> Trainer:
        if "trainer" not in state:
            state["trainer"] = trainer or Trainer()
        return state["trainer"]

    async def blocking(function: Callable, *args: Any, **kwargs: Any) -> Any:
        # Scans, clustering and `rasa data validate` take seconds: off the event loop.
        return await asyncio.get_running_loop().run_in_executor(
            None, partial(function, *args, **kwargs))

    async def caller(request: Request) -> Any:
        principal = auth_check(request)
        if inspect.isawaitable(principal):
            principal = await principal
        return principal

    @bp.middleware("request")
    async def authenticate(request: Request) -> Optional[HTTPResponse]:
        if not request.path.startswith("/trainer/api/"):
            return None
        principal = await caller(request)
        if not principal:
            return _error(401, "请先登录(需要训练师或主管权限)")
        request.ctx.trainer_actor = _actor(principal)
        return None

    def body(request: Request) -> Dict[str, Any]:
        try:
            data = request.json
        except Exception as error:  # Sanic raises InvalidUsage for malformed JSON
            raise LabelError("请求内容不是合法的 JSON") from error
        if not isinstance(data, dict):
            raise LabelError("请求内容应该是一个 JSON 对象")
        return data

    def keys_of(data: Dict[str, Any]) -> list:
        keys = data.get("keys")
        if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS \
                or not all(isinstance(key, str) and 0 < len(key) <= 64 for key in keys):
            raise LabelError(f"keys 应该是 1 到 {MAX_KEYS} 条消息编号的列表")
        return keys

    @bp.exception(LabelError)
    async def label_error(request: Request, error: LabelError) -> HTTPResponse:
        return _error(400, str(error))

    @bp.get("/api/review")
    async def review(request: Request) -> HTTPResponse:
        return json(await blocking(get_trainer().review))

    @bp.get("/api/intents")
    async def intents(request: Request) -> HTTPResponse:
        return json({"intents": await blocking(get_trainer().catalogue)})

    @bp.get("/api/conversations/<sender_id:str>")
    async def conversation(request: Request, sender_id: str) -> HTTPResponse:
        lines = await blocking(get_trainer().conversation, sender_id)
        if not lines:
            return _error(404, "没有这个会话")
        return json({"sender_id": sender_id, "lines": lines})

    @bp.post("/api/label")
    async def label(request: Request) -> HTTPResponse:
        data = body(request)
        intent = data.get("intent")
        if not isinstance(intent, str) or not intent.strip() or len(intent) > 100:
            raise LabelError("请选择一个意图")
        texts = data.get("texts") or {}
        if not isinstance(texts, dict) or not all(
                isinstance(v, str) and len(v) <= 500 for v in texts.values()):
            raise LabelError("texts 应该是 消息编号 → 样例文本(最多 500 字)")
        result = await blocking(get_trainer().label, keys_of(data), intent.strip(),
                                new=bool(data.get("new")), texts=texts,
                                actor=request.ctx.trainer_actor)
        logger.info("trainer %s labelled %d messages as %s: %s", request.ctx.trainer_actor,
                    len(result["labelled"]), result["intent"],
                    "ok" if result["ok"] else "reverted")
        return json(result, status=200 if result["ok"] else 422)

    @bp.post("/api/dismiss")
    async def dismiss(request: Request) -> HTTPResponse:
        count = await blocking(get_trainer().dismiss, keys_of(body(request)),
                               actor=request.ctx.trainer_actor)
        return json({"dismissed": count})

    @bp.post("/api/stories")
    async def export_story(request: Request) -> HTTPResponse:
        data = body(request)
        sender_id, name = data.get("sender_id"), data.get("name")
        if not isinstance(sender_id, str) or not sender_id or len(sender_id) > 255:
            raise LabelError("请指定要导出的会话")
        if name is not None and not isinstance(name, str):
            raise LabelError("故事名应该是文本")
        try:
            result = await blocking(get_trainer().export_story, sender_id, name,
                                    data.get("message_key") or None,
                                    actor=request.ctx.trainer_actor)
        except ValueError as error:
            raise LabelError(str(error)) from error
        return json(result, status=200 if result["ok"] else 422)

    @bp.get("/api/history")
    async def history(request: Request) -> HTTPResponse:
        return json({"history": await blocking(get_trainer().store.history)})

    @bp.get("/")
    async def page(request: Request) -> HTTPResponse:
        index = DIST / "index.html"
        if not index.exists():
            return _error(503, "训练页面还没有构建: 运行 scripts/setup_web.sh")
        return await file(str(index), mime_type="text/html; charset=utf-8")

    @bp.get("/assets/<name:str>")
    async def asset(request: Request, name: str) -> HTTPResponse:
        path = (DIST / "assets" / name).resolve()
        if path.parent != (DIST / "assets").resolve() or not path.is_file():
            return _error(404, "没有这个文件")
        return await file(str(path))

    return bp


# A label or a story export waits for `rasa data validate` (30-60 s on a busy machine);
# Sanic's default response timeout (60 s) would cut it off.
MIN_RESPONSE_TIMEOUT = 600


def register(app: Sanic, auth_check: AuthCheck, trainer: Optional[Trainer] = None) -> Blueprint:
    if (app.config.get("RESPONSE_TIMEOUT") or 0) < MIN_RESPONSE_TIMEOUT:
        app.config.RESPONSE_TIMEOUT = MIN_RESPONSE_TIMEOUT
    bp = blueprint(auth_check, trainer)
    app.blueprint(bp)
    return bp
