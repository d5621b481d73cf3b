"""Security pieces in-process: masking, secrets, the channel's body checks and identity,
the handoff packet's limits, the attachment fetcher's address checks (finding numbers refer
to issue 13; docs/security.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from actions import attachments
from actions.handoff import MAX_ENTRY_CHARS, transcript
from channels.identity import sign_identity
from channels.rest import BadRequest, parse_body, verified_metadata
from security import logs, secrets
from security.masking import mask_text
from service_common import settings

SECRET = "s" * 40


# ---------------------------------------------------------------- finding 9: masking
def test_personal_data_is_masked() -> None:
    line = ("收货人 王伟 13812345678 浙江省杭州市西湖区文三路100号 wangwei@example.com "
            "尾号5678 身份证110101199003071234 订单361204587712340001")
    masked = mask_text(line)
    for secret_part in ("13812345678", "文三路100号", "wangwei@", "尾号5678", "王伟",
                        "110101199003071234"):
        assert secret_part not in masked, (secret_part, masked)
    assert "138****5678" in masked and "361204587712340001" in masked  # order ids stay
    assert mask_text('{"name": "王伟", "phone": "13812345678"}') == \
        '{"name": "***", "phone": "***"}'
    assert mask_text("快递到哪了") == "快递到哪了"


def test_every_log_record_is_masked_tracebacks_included(caplog) -> None:
    logs.install()
    logger = logging.getLogger("security-test")
    with caplog.at_level(logging.INFO):
        logger.info("message from %s: %s", "13812345678", "地址 上海市浦东新区世纪大道88号")
        try:
            raise ValueError("bad phone 13987654321")
        except ValueError:
            logger.exception("failed for wang@example.com")
        # structlog's JSON lines escape Chinese; they are decoded before masking.
        logger.error(json.dumps({"event": "x", "text": "收货人 李娜 上海市浦东新区世纪大道88号"}))
    text = caplog.text
    assert "13812345678" not in text and "13987654321" not in text
    assert "世纪大道88号" not in text and "wang@" not in text and "李娜" not in text
    assert "138****5678" in text and "139****4321" in text


# ---------------------------------------------------------------- finding 2: secrets
def test_secrets_are_generated_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secrets.env"
    first = secrets.init(path)
    assert set(first) == set(secrets.NAMES)
    assert all(len(value) >= 32 for value in first.values())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secrets.init(path) == first  # a second set-up keeps them
    assert secrets.init(tmp_path / "other.env") != first  # per installation


def test_published_or_empty_secrets_are_refused_outside_demo_mode(capsys) -> None:
    good = secrets.generate()
    secrets.require(secrets.NAMES, good)
    for bad in ("rasa-dev-token", "desk-dev-token", "", "short"):
        with pytest.raises(secrets.InsecureSecret, match="RASA_API_TOKEN"):
            secrets.require(secrets.NAMES, {**good, "RASA_API_TOKEN": bad})
    secrets.require(secrets.NAMES, {**good, "RASA_API_TOKEN": "rasa-dev-token", "DEMO_MODE": "1"})
    assert "DEMO MODE - INSECURE" in capsys.readouterr().err


def test_no_published_token_in_the_defaults() -> None:
    defaults = settings.defaults()
    assert all(defaults.get(name, "") == "" for name in secrets.NAMES)
    assert "--cors\", \"*\"" not in (secrets.ROOT / "scripts" / "stack.py").read_text()


# ---------------------------------------------------------------- findings 4 and 10: channel
@pytest.mark.parametrize("body, code", [
    (b"{not json", "invalid_json"), (b"", "invalid_json"), (b"[]", "body_not_object"),
    (b'"text"', "body_not_object"), (b"null", "body_not_object"),
    (b'{"message": "hi"}', "invalid_sender"),
    (b'{"sender": "", "message": "hi"}', "invalid_sender"),
    (b'{"sender": 5, "message": "hi"}', "invalid_sender"),
    (b'{"sender": "a\\u0000b", "message": "hi"}', "invalid_sender"),
    (b'{"sender": "a", "message": 123}', "invalid_message"),
    (b'{"sender": "a", "message": ["hi"]}', "invalid_message"),
    (b'{"sender": "a", "message": "hi", "metadata": "x"}', "invalid_metadata"),
    (b'{"sender": "a", "message": "hi", "metadata": [1]}', "invalid_metadata"),
])
def test_bad_bodies_are_refused_with_a_clear_error(body: bytes, code: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_body(body)
    assert refused.value.code == code and 400 <= refused.value.status < 500
    assert refused.value.message


def test_a_huge_message_is_refused_and_control_characters_are_replaced() -> None:
    with pytest.raises(BadRequest) as refused:
        parse_body(json.dumps({"sender": "a", "message": "啊" * 400_000}).encode())
    assert refused.value.status == 413
    _, text, _, since = parse_body(
        json.dumps({"sender": "a", "message": "查\x00订单\x1b单号"}).encode())
    assert text == "查 订单 单号" and since is None


def test_since_is_a_finite_number_or_absent() -> None:
    assert parse_body(b'{"sender": "a", "since": 1765000000.25}')[3] == 1765000000.25
    for bad in (b'"x"', b"true", b"[1]", b"NaN", b"Infinity"):
        with pytest.raises(BadRequest) as refused:
            parse_body(b'{"sender": "a", "message": "hi", "since": ' + bad + b"}")
        assert refused.value.code == "invalid_since"


def test_only_a_signed_identity_links_a_customer() -> None:
    forged = verified_metadata({"identity": {"customer_id": "C0001", "verified": True}}, SECRET)
    assert "identity" not in forged
    token = sign_identity({"customer_id": "C0001"}, SECRET)
    assert verified_metadata({"identity_token": token}, SECRET) == \
        {"identity": {"customer_id": "C0001", "verified": True}}
    assert "identity" not in verified_metadata({"identity_token": token}, "another-secret" * 3)
    assert "identity" not in verified_metadata({"identity_token": token + "x"}, SECRET)
    assert "identity_token" not in verified_metadata({"identity_token": token}, SECRET)


# ---------------------------------------------------------------- finding 6: handoff packet
def test_a_very_long_message_fits_the_desk() -> None:
    events = [{"event": "user", "text": "快递" * 20_000, "timestamp": 1.0},
              {"event": "bot", "text": "好的", "timestamp": 2.0}] * 200
    lines = transcript(events)
    assert all(len(line["text"]) <= MAX_ENTRY_CHARS for line in lines)
    assert sum(len(line["text"]) for line in lines) <= 100_000
    assert lines[-1]["text"] == "好的" and "已截断" in lines[-2]["text"]  # newest kept


# ---------------------------------------------------------------- finding 5: attachments
@pytest.fixture()
def redirecting_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/to-internal":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{port}/photo.png")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"\x89PNG")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{port}"
    server.shutdown()


def refused(url: str) -> bool:
    try:
        asyncio.run(attachments.download(url, 1024))
    except attachments.AttachmentRefused:
        return True
    return False


def test_internal_addresses_are_refused(monkeypatch, redirecting_server: str) -> None:
    monkeypatch.setenv("SHOP_API_URL", "http://127.0.0.1:1")
    monkeypatch.delenv("ATTACHMENT_HOSTS", raising=False)
    monkeypatch.delenv("ATTACHMENT_INTERNAL_HOSTS", raising=False)
    port = redirecting_server.rsplit(":", 1)[1]
    for url in (f"{redirecting_server}/photo.png", f"http://127.0.0.1:{port}/photo.png",
                "http://169.254.169.254/latest/meta-data/", "http://[::1]:5005/",
                "http://10.0.0.1/x.png", "file:///etc/passwd", "ftp://example.com/x",
                "http://user:pw@example.com/x.png", "http://example.com/x.png"):
        assert refused(url), url
    # Listed but resolving to loopback: still refused (the check is after DNS).
    monkeypatch.setenv("ATTACHMENT_HOSTS", "localhost")
    assert refused(f"{redirecting_server}/photo.png")
    # An allowed internal media host works; its redirect to an unlisted host does not.
    monkeypatch.setenv("ATTACHMENT_INTERNAL_HOSTS", "localhost")
    assert asyncio.run(attachments.download(f"{redirecting_server}/photo.png", 1024)) == \
        (b"\x89PNG", "image/png")
    assert refused(f"{redirecting_server}/to-internal")
