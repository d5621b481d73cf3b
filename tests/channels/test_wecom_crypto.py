"""WeCom callback crypto against the official documentation's published test vectors."""

import base64

import pytest

from channels.wecom_crypto import WeComCrypto, WeComCryptoError, signature

TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

# 1. URL verification (GET /cgi-bin/wxpush?msg_signature=...&echostr=...)
VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": ("P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7Oa"
                "BO+FZXvnaqQ=="),
}
# 2. A user's message (POST with <Encrypt> in the body)
MESSAGE = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
    "encrypted": (
        "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUp"
        "j911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue"
        "06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+"
        "3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH"
        "27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8"
        "R07+qN+E7Q=="
    ),
}


def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


def test_official_url_verification_vector():
    echo = crypto().verify_url(**VERIFY, now=int(VERIFY["timestamp"]))
    assert echo == "1616140317555161061"


def test_official_message_vector():
    xml = crypto().decrypt_callback(**MESSAGE, now=int(MESSAGE["timestamp"])).decode()
    assert "<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>" in xml
    assert "<FromUserName><![CDATA[mycreate]]></FromUserName>" in xml
    assert "<Content><![CDATA[hello]]></Content>" in xml
    assert "<MsgType><![CDATA[text]]></MsgType>" in xml


def test_encrypt_round_trip_with_chinese_pads_to_32_bytes():
    box = crypto()
    message = "这是一个中文测试 a test".encode()
    encrypted, sig = box.encrypt_reply(message, "1409659813", "1372623149")
    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert sig == signature(TOKEN, "1409659813", "1372623149", encrypted)
    assert box.decrypt_callback(sig, "1409659813", "1372623149", encrypted,
                                now=1409659813) == message


def test_wrong_signature_stale_or_replayed_callbacks_are_refused():
    box = crypto()
    with pytest.raises(WeComCryptoError, match="signature"):
        box.verify_url("0" * 40, VERIFY["timestamp"], VERIFY["nonce"], VERIFY["echostr"],
                       now=int(VERIFY["timestamp"]))
    with pytest.raises(WeComCryptoError, match="stale"):
        box.verify_url(**VERIFY, now=int(VERIFY["timestamp"]) + 3600)
    box.decrypt_callback(**MESSAGE, now=int(MESSAGE["timestamp"]))
    with pytest.raises(WeComCryptoError, match="replayed"):
        box.decrypt_callback(**MESSAGE, now=int(MESSAGE["timestamp"]) + 5)


def test_tampered_ciphertext_and_wrong_corp_id_are_refused():
    box = crypto()
    raw = bytearray(base64.b64decode(MESSAGE["encrypted"]))
    raw[-1] ^= 0x55  # the padding block changes
    tampered = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(WeComCryptoError):
        box.decrypt(tampered)
    other = WeComCrypto(TOKEN, AES_KEY, "wwsomeoneelse0000")
    with pytest.raises(WeComCryptoError, match="corp id"):
        other.decrypt(MESSAGE["encrypted"])
    for junk in ("", "not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(WeComCryptoError):
            box.decrypt(junk)


def test_long_texts_are_split_after_sentences_within_2048_bytes():
    from channels.wecom import split_text

    text = "亲,您的包裹已经到了杭州转运中心。" * 150
    pieces = split_text(text)
    assert all(len(piece.encode()) <= 2048 for piece in pieces)
    assert all(piece.endswith("。") for piece in pieces)
    assert "".join(pieces) == text
    assert split_text("短消息") == ["短消息"]
