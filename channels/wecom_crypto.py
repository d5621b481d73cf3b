"""WeCom (企业微信) callback encryption, per the official scheme (回调和回复的加解密方案).

- msg_signature = SHA-1 hex of the sorted concatenation of token, timestamp, nonce, ciphertext;
- AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[:16];
- plaintext = 16 random bytes + 4-byte big-endian length + message + receive id (the corp id),
  PKCS#7-padded to a multiple of 32 bytes.
The official documentation's test vectors are in tests/channels/test_wecom_crypto.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from collections import OrderedDict
from typing import Optional, Tuple

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
# Callbacks older or newer than this are refused (WeCom retries within seconds).
MAX_SKEW_SECONDS = 300


class WeComCryptoError(ValueError):
    """A callback that fails a check; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


class WeComCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str,
                 max_skew: int = MAX_SKEW_SECONDS) -> None:
        if not token or not receive_id or len(encoding_aes_key or "") != 43:
            raise WeComCryptoError("token, corp id and a 43-character EncodingAESKey are required")
        self.token = token
        self.receive_id = receive_id
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.max_skew = max_skew
        self._seen: OrderedDict[str, float] = OrderedDict()  # replayed signatures

    # --------------------------------------------------------------- checks
    def check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str,
              now: Optional[float] = None) -> None:
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, str(msg_signature or "")):
            raise WeComCryptoError("bad signature")
        try:
            sent = int(timestamp)
        except (TypeError, ValueError):
            raise WeComCryptoError("bad timestamp") from None
        current = time.time() if now is None else now
        if abs(current - sent) > self.max_skew:
            raise WeComCryptoError("stale timestamp")
        # The same signed callback twice within the window is a replay.
        for key in [key for key, at in self._seen.items() if at < current - self.max_skew]:
            del self._seen[key]
        if msg_signature in self._seen:
            raise WeComCryptoError("replayed callback")
        self._seen[msg_signature] = current

    # ----------------------------------------------------------- encryption
    def decrypt(self, encrypted: str) -> bytes:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (ValueError, TypeError):
            raise WeComCryptoError("ciphertext is not base64") from None
        if not raw or len(raw) % 16:
            raise WeComCryptoError("ciphertext has a wrong length")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise WeComCryptoError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise WeComCryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20:20 + length], plain[20 + length:]
        if len(message) != length:
            raise WeComCryptoError("bad message length")
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise WeComCryptoError("wrong corp id")
        return message

    def encrypt(self, message: bytes, random16: Optional[bytes] = None) -> str:
        body = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message \
            + self.receive_id.encode()
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()

    # ------------------------------------------------------------ callbacks
    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str,
                   now: Optional[float] = None) -> str:
        """The plaintext to answer WeCom's URL verification with."""
        self.check(msg_signature, timestamp, nonce, echostr, now)
        return self.decrypt(echostr).decode()

    def decrypt_callback(self, msg_signature: str, timestamp: str, nonce: str,
                         encrypted: str, now: Optional[float] = None) -> bytes:
        self.check(msg_signature, timestamp, nonce, encrypted, now)
        return self.decrypt(encrypted)

    def encrypt_reply(self, message: bytes, timestamp: str, nonce: str) -> Tuple[str, str]:
        """(ciphertext, msg_signature) of a passive reply or a simulated callback."""
        encrypted = self.encrypt(message)
        return encrypted, signature(self.token, timestamp, nonce, encrypted)
