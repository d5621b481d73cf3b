"""The WeCom and Official Account API clients (on service_common.http) against the local
WeCom simulator, in this process: no Rasa needed."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest
from aiohttp import web
from wecom_simulator import make_app

from channels.wechat_oa import OfficialAccountApi
from channels.wecom import WeComApi, WeComApiError
from service_common.http import HttpClient

CORP, SECRET = "wwsimcorp000000001", "sim-secret"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


async def simulated(use: Callable[[str, HttpClient], Awaitable[Any]]) -> Any:
    runner = web.AppRunner(make_app(CORP, SECRET, 3600))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore
    try:
        async with HttpClient(url) as control:
            return await use(url, control)
    finally:
        await runner.cleanup()


def test_wecom_token_refresh_upload_download_and_send() -> None:
    async def use(url: str, sim: HttpClient) -> Any:
        api = WeComApi(url, CORP, SECRET)
        try:
            media_id = await api.upload_image(PNG, "photo.png", "image/png")
            assert await api.call("media/get", None, {"media_id": media_id}, raw=True) == \
                (PNG, "image/png")
            await sim.request("POST", "/sim/control", json={"expire_tokens": True})
            await sim.request("POST", "/sim/enqueue", json={
                "open_kfid": "wk1", "external_userid": "wmCustomer", "msgtype": "text",
                "text": {"content": "你好"}})
            sent = await api.call("kf/send_msg", {"touser": "wmCustomer", "open_kfid": "wk1",
                                                  "msgtype": "text",
                                                  "text": {"content": "您好"}})
            assert sent["errcode"] == 0
            await sim.request("POST", "/sim/control", json={"down": True})
            with pytest.raises(WeComApiError) as error:
                await api.call("kf/send_msg", {"touser": "wmCustomer", "open_kfid": "wk1",
                                               "msgtype": "text", "text": {"content": "再见"}})
            assert error.value.errcode == -503
            return (await sim.request_json("GET", "/sim/state")).data["calls"]
        finally:
            await api.close()

    calls = asyncio.run(simulated(use))
    # The expired token was refreshed once; a send to a WeCom that is down is not repeated.
    assert calls["gettoken"] == 2 and calls["send_msg"] == 3


def test_official_account_send_and_media() -> None:
    async def use(url: str, sim: HttpClient) -> Any:
        api = OfficialAccountApi(url, CORP, SECRET)
        wecom = WeComApi(url, CORP, SECRET)
        try:
            media_id = await wecom.upload_image(PNG, "photo.png", "image/png")
            assert await api.media(media_id) == (PNG, "image/png")
            assert await api.media("unknown") is None
            await sim.request("POST", "/sim/oa_user", json={"openid": "oOpenid"})  # they wrote
            await api.send("oOpenid", {"msgtype": "text", "text": {"content": "您好"}})
            return (await sim.request_json("GET", "/sim/state")).data["sent"]
        finally:
            await api.close()
            await wecom.close()

    sent = asyncio.run(simulated(use))
    assert sent == [{"touser": "oOpenid", "msgtype": "text", "text": {"content": "您好"},
                     "api": "custom_send"}]
