"""The trainer API and page alone (`python -m trainer serve`), behind a bearer token.

In production the desk mounts `trainer.http.register` behind its own login; this small
app is for a trainer's laptop and for the tests. It needs TRAINER_API_TOKEN: there is no
default secret.
"""

from __future__ import annotations

import hmac
import logging
from typing import Optional

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from privacy import mask_phone
from service_common.settings import env_str
from trainer.http import register
from trainer.service import Trainer


def bearer_check(token: str):
    def check(request: Request) -> Optional[str]:
        header = request.headers.get("authorization") or ""
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return "trainer"
        return None
    return check


def create_app(token: str, trainer: Optional[Trainer] = None, name: str = "trainer") -> Sanic:
    if not token:
        raise SystemExit("TRAINER_API_TOKEN is not set: the trainer API never runs without one")
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 1_000_000
    app.config.FALLBACK_ERROR_FORMAT = "json"

    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @app.middleware("response")
    async def log_request(request: Request, response: HTTPResponse) -> None:
        logging.getLogger("trainer.access").info(
            "%s %s %s", request.method, mask_phone(request.path), response.status)

    register(app, bearer_check(token), trainer)
    return app


def run(host: str, port: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    app = create_app(env_str("TRAINER_API_TOKEN") or "")
    app.run(host=host, port=port, access_log=False, workers=1)
