"""Small HTTP helpers for the shop API tests (imported as a plain module by the tests)."""

from __future__ import annotations

import base64
import os
import re
import struct
import zlib
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

import requests

CST = timezone(timedelta(hours=8))
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
CJK = re.compile(r"[\u4e00-\u9fff]")

SHIPPED = "361204587712340001"
PAID = "361204587712340002"
DELIVERED = "361204587712340003"
UNPAID = "361204587712340004"
DELAYED = "361204587712340011"
REFUNDED = "361204587712340012"
RETURNING = "361204587712340013"
CANCELLED = "361204587712340014"
# 赵磊 (C0061, demo-zhao): jacket L + power bank delivered 2 days ago, rice cooker delivered
# yesterday (open damage_photo to-do), an order whose missing item was resent 3 weeks ago.
ZHAO = "C0061"
ZHAO_JACKET = "361204587712340021"
ZHAO_DAMAGED = "361204587712340022"
ZHAO_RESENT = "361204587712340023"

# Tiny real images (3x2 pixels) made once with Pillow; PNG and GIF are built below.
JPEG_3X2 = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERX"
    "RTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAACAAMDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAA"
    "AAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAk"
    "M2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKT"
    "lJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QA"
    "HwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdh"
    "cRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hp"
    "anN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk"
    "5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDHooorhPqD/9k="
)
WEBP_3X2 = base64.b64decode("UklGRh4AAABXRUJQVlA4TBEAAAAvAkAAAAdQjyLXo/+BiOh/AAA=")
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def png(width: int = 4, height: int = 3, seed: int = 0) -> bytes:
    """A valid RGB PNG; `seed` varies the pixels (so the bytes and sha256 differ)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(
        b"\x00" + bytes((x * 40 + seed) % 256 for x in range(width * 3)) for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def gif_1x1() -> bytes:
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\x00\x00\x00\x00\x00"
            b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00"
            b"\x00\x02\x02D\x01\x00;")


def upload(
    base: str,
    data: bytes,
    content_type: str = "image/png",
    status: int = 201,
    query: str = "",
) -> Any:
    response = call(base, "POST", f"/api/uploads{query}", data=data,
                    headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    return response.json()

http = requests.Session()
# Back office by default (tests/conftest.py sets the keys): order endpoints need no proof.
http.headers["X-Api-Key"] = os.environ.get("SHOP_ADMIN_KEY", "")


def today() -> date:
    return datetime.now(CST).date()


def day_of(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(CST).date()


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    data: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
) -> requests.Response:
    return http.request(method, base + path, json=body, data=data, headers=headers, timeout=10)


def get(base: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    response = call(base, "GET", path, **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def post(base: str, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
    response = call(base, "POST", path, body=body, **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def patch(base: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = call(base, "PATCH", path, body=body)
    assert response.status_code == status, response.text
    return response.json()


def assert_error(response: requests.Response, status: int, code: Optional[str] = None) -> dict:
    """A clear JSON error: right status, snake_case code, Chinese message."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert SNAKE.match(error["code"]), error
    assert CJK.search(error["message"]), error
    if code is not None:
        assert error["code"] == code, error
    return error


def find_orders(base: str, status: str, count: int = 1, exclude: tuple[str, ...] = ()) -> list:
    """Generated orders in a given status (customers C0003 onwards)."""
    found: list[dict] = []
    for number in range(3, 61):
        orders = get(base, f"/api/customers/C{number:04d}/orders?status={status}")["orders"]
        found.extend(o for o in orders if o["id"] not in exclude)
        if len(found) >= count:
            return found[:count]
    raise AssertionError(f"not enough generated {status} orders")
