"""Evidence photo uploads and their use in after-sales, against a real shop server."""

from __future__ import annotations

import hashlib
import struct
import zlib
from datetime import timedelta

import pytest
from shop_api_helpers import (
    DELAYED,
    DELIVERED,
    JPEG_3X2,
    PDF,
    SHIPPED,
    WEBP_3X2,
    ZHAO_DAMAGED,
    ZHAO_JACKET,
    ZHAO_RESENT,
    assert_error,
    call,
    day_of,
    find_orders,
    get,
    gif_1x1,
    png,
    post,
    today,
    upload,
)

from shop.errors import ApiError
from shop.images import MAX_UPLOAD_BYTES, default_upload_dir, storage_path
from shop.models import Order, OrderItem
from shop.services import resolve_item


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def shop(shop_factory, upload_dir) -> str:
    return shop_factory(extra_args=("--upload-dir", str(upload_dir))).url


# ---------------------------------------------------------------- uploads


def test_png_round_trip_is_content_addressed(shop, upload_dir):
    data = png(4, 3, seed=1)
    meta = upload(shop, data, query=f"?filename=破损外箱.png&order_id={ZHAO_JACKET}"
                                    "&conversation_id=conv-up-1")
    sha256 = hashlib.sha256(data).hexdigest()
    assert meta["duplicate"] is False and meta["url"] == f"/api/uploads/{meta['id']}"
    assert (meta["content_type"], meta["size"], meta["sha256"]) == ("image/png", len(data), sha256)
    assert (meta["width"], meta["height"]) == (4, 3)
    assert (meta["filename"], meta["order_id"]) == ("破损外箱.png", ZHAO_JACKET)
    assert meta["conversation_id"] == "conv-up-1" and meta["created_at"].endswith("+08:00")
    stored = storage_path(upload_dir, sha256, "png")
    assert stored == upload_dir / sha256[:2] / f"{sha256}.png"
    assert stored.read_bytes() == data

    response = call(shop, "GET", meta["url"])
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"] == f'"{sha256}"'
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    assert get(shop, f"/api/uploads/{meta['id']}/meta") == {
        k: v for k, v in meta.items() if k != "duplicate"}


@pytest.mark.parametrize(("data", "declared", "content_type", "size"), [
    (JPEG_3X2, "image/jpeg", "image/jpeg", (3, 2)),
    (WEBP_3X2, "image/webp", "image/webp", (3, 2)),
    (gif_1x1(), "image/gif", "image/gif", (1, 1)),
    # The bytes decide, not the header: a PNG announced as JPEG (or as nothing) is a PNG.
    (png(5, 2, seed=2), "image/jpeg", "image/png", (5, 2)),
    (png(2, 2, seed=3), "application/octet-stream", "image/png", (2, 2)),
])
def test_formats_are_sniffed_from_the_bytes(shop, data, declared, content_type, size):
    meta = upload(shop, data, content_type=declared)
    assert meta["content_type"] == content_type and (meta["width"], meta["height"]) == size
    response = call(shop, "GET", f"/api/uploads/{meta['id']}")
    assert response.content == data and response.headers["content-type"] == content_type


def test_repeated_upload_is_idempotent_and_stored_once(shop, upload_dir):
    data = png(3, 3, seed=4)
    first = upload(shop, data, query=f"?order_id={ZHAO_JACKET}")
    again = upload(shop, data, status=200, query=f"?order_id={ZHAO_JACKET}")
    assert again["duplicate"] is True and again["id"] == first["id"]
    other = upload(shop, data, query="?conversation_id=someone-else")
    assert other["id"] != first["id"] and other["sha256"] == first["sha256"]
    files = list((upload_dir / first["sha256"][:2]).glob(f"{first['sha256']}*"))
    assert len(files) == 1


def test_non_images_are_415(shop):
    error = assert_error(call(shop, "POST", "/api/uploads", data=PDF,
                              headers={"Content-Type": "application/pdf"}),
                         415, "unsupported_media_type")
    assert "PDF" in error["message"] and "JPEG" in error["message"]
    # Lying about the type does not help.
    assert_error(call(shop, "POST", "/api/uploads", data=PDF,
                      headers={"Content-Type": "image/png"}), 415, "unsupported_media_type")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    error = assert_error(call(shop, "POST", "/api/uploads", data=heic,
                              headers={"Content-Type": "image/heic"}), 415)
    assert "HEIC" in error["message"]
    text = "这不是图片".encode()
    assert_error(call(shop, "POST", "/api/uploads", data=text,
                      headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    form = b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\n" + png() + b"\r\n--x--\r\n"
    error = assert_error(call(shop, "POST", "/api/uploads", data=form,
                              headers={"Content-Type": "multipart/form-data; boundary=x"}), 415)
    assert "请求体" in error["message"]


def test_broken_images_are_415(shop):
    whole = png()
    for broken in (whole[:8], whole[:20], b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20,
                   b"GIF89a", b"RIFF\x10\x00\x00\x00WEBPVP8 "):
        response = call(shop, "POST", "/api/uploads", data=broken,
                        headers={"Content-Type": "image/png"})
        assert_error(response, 415, "invalid_image")


def test_a_valid_header_with_junk_or_a_pixel_bomb_is_not_an_image(shop):
    whole = png(6, 4, seed=7)
    idat = whole.index(b"IDAT")
    junk_after_header = whole[:idat - 4] + b"\x00\x00\x01\x00IDAT" + bytes(range(256)) * 2
    truncated = whole[:idat + 10]
    # 30000 x 30000 pixels declared in a few bytes: refused before decoding.
    bomb_header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + bomb_header
            + struct.pack(">I", zlib.crc32(b"IHDR" + bomb_header)) + whole[idat - 4:])
    for broken in (junk_after_header, truncated, bomb):
        response = call(shop, "POST", "/api/uploads", data=broken,
                        headers={"Content-Type": "image/png"})
        assert_error(response, 415, "invalid_image")


def test_empty_upload_is_400(shop):
    assert_error(call(shop, "POST", "/api/uploads", data=b"",
                      headers={"Content-Type": "image/png"}), 400, "empty_upload")
    assert_error(call(shop, "POST", "/api/uploads"), 400, "empty_upload")


def test_size_limit(shop):
    # Exactly 10 MB is fine (bytes after IEND are ignored by image readers) ...
    data = png(seed=5)
    data += b"\x00" * (MAX_UPLOAD_BYTES - len(data))
    meta = upload(shop, data)
    assert meta["size"] == MAX_UPLOAD_BYTES
    # ... one byte more, or a 20 MB photo, is a clear 413.
    for size in (MAX_UPLOAD_BYTES + 1, 20 * 1024 * 1024):
        big = png(seed=6) + b"\x00" * (size - len(png(seed=6)))
        response = call(shop, "POST", "/api/uploads", data=big,
                        headers={"Content-Type": "image/png"})
        error = assert_error(response, 413, "upload_too_large")
        assert "10MB" in error["message"]
    assert get(shop, "/health") == {"status": "ok"}
    # Plain JSON endpoints keep their small body limit.
    body = b'{"note": "' + b"x" * (200 * 1024) + b'"}'
    assert_error(call(shop, "POST", f"/api/orders/{SHIPPED}/urge", data=body,
                      headers={"Content-Type": "application/json"}), 413, "payload_too_large")


def test_upload_lookup_errors(shop):
    assert_error(call(shop, "GET", "/api/uploads/999999"), 404, "upload_not_found")
    assert_error(call(shop, "GET", "/api/uploads/999999/meta"), 404, "upload_not_found")
    assert_error(call(shop, "GET", "/api/uploads/abc"), 404, "not_found")
    assert_error(call(shop, "POST", "/api/uploads?order_id=123", data=png(),
                      headers={"Content-Type": "image/png"}), 422, "invalid_order_id")
    assert_error(call(shop, "POST", "/api/uploads?order_id=361204587712349999", data=png(),
                      headers={"Content-Type": "image/png"}), 404, "order_not_found")


def test_default_upload_dir_is_next_to_the_sqlite_file(tmp_path):
    assert default_upload_dir(f"sqlite:///{tmp_path / 'shop.sqlite'}") == tmp_path / "shop_uploads"
    assert default_upload_dir("postgresql://u@h/db").name == "uploads"


# ---------------------------------------------------------------- after-sales with evidence


def test_quality_return_with_evidence(shop):
    label = upload(shop, png(6, 4, seed=10), query="?filename=批号.png&conversation_id=conv-q")
    damage = upload(shop, JPEG_3X2, content_type="image/jpeg", query="?conversation_id=conv-q")
    record = post(shop, f"/api/orders/{ZHAO_JACKET}/after-sales", {
        "kind": "return", "item": "充电宝", "reason_code": "quality",
        "reason": "充电宝充不进电", "evidence": [label["id"], str(damage["id"])],
        "conversation_id": "conv-q",
    }, status=201)
    assert (record["type"], record["kind"], record["status"]) == ("return", "return", "processing")
    assert record["items"] == ["P2003"] and record["refund_amount"] == 149.0
    assert (record["reason_code"], record["reason_code_text"]) == ("quality", "质量问题")
    assert record["return_shipping_paid_by"] == "seller"
    assert record["evidence"] == [label["id"], damage["id"]]
    assert record["evidence_urls"] == [f"/api/uploads/{label['id']}",
                                       f"/api/uploads/{damage['id']}"]
    assert record["todos"] == [] and record["conversation_id"] == "conv-q"
    # The photos now belong to the order and cannot back another order's claim.
    assert get(shop, f"/api/uploads/{label['id']}/meta")["order_id"] == ZHAO_JACKET
    listed = get(shop, f"/api/orders/{ZHAO_JACKET}/after-sales")["after_sales"]
    assert listed[0]["evidence"] == record["evidence"]
    assert get(shop, f"/api/after-sales/{record['id']}")["ticket_no"] == record["ticket_no"]
    response = call(shop, "POST", f"/api/orders/{DELAYED}/after-sales",
                    {"kind": "resend", "reason": "x", "evidence": [label["id"]]})
    assert_error(response, 422, "invalid_evidence")


def test_after_sale_evidence_must_exist(shop):
    url = f"/api/orders/{DELAYED}/after-sales"
    error = assert_error(call(shop, "POST", url, {"kind": "resend", "reason": "包裹丢了",
                                                  "evidence": [987654]}), 422, "unknown_upload")
    assert "987654" in error["message"]
    for bad in ("abc", [0], [-1], [True], ["x"], [1.5], list(range(1, 12))):
        response = call(shop, "POST", url, {"kind": "resend", "reason": "x", "evidence": bad})
        assert_error(response, 422)
    # Nothing was created by the failed attempts.
    assert get(shop, f"/api/orders/{DELAYED}/after-sales")["after_sales"] == []


def test_kind_item_and_reason_code_validation(shop):
    url = f"/api/orders/{ZHAO_RESENT}/after-sales"
    cases = [
        ({"kind": "swap", "reason": "x"}, "invalid_value"),
        ({"kind": "return", "type": "exchange", "reason": "x"}, "invalid_value"),
        ({"kind": "return", "reason_code": "bored"}, "invalid_value"),
        ({"kind": "return"}, "missing_field"),
        ({"kind": "return", "reason": "x", "item": "键盘"}, "invalid_item"),
        ({"kind": "return", "reason": "x", "item": 99999999}, "invalid_item"),
        ({"kind": "return", "reason": "x", "item": ["P1008"]}, "invalid_type"),
        ({"kind": "return", "reason": "x", "item": "P1008", "items": ["P1008"]},
         "invalid_value"),
    ]
    for body, code in cases:
        assert_error(call(shop, "POST", url, body), 422, code)
    two_jackets = call(shop, "POST", f"/api/orders/{ZHAO_JACKET}/after-sales",
                       {"kind": "exchange", "reason": "x", "item": "0"})
    assert_error(two_jackets, 422, "invalid_item")


def test_resolve_item_in_process():
    order = Order(id="361204587712340099", items=[
        OrderItem(id=7, product_id="P1001", product_name="男士轻薄羽绒服", spec="尺码：L"),
        OrderItem(id=8, product_id="P1002", product_name="女士长款羽绒服", spec="尺码：M"),
        OrderItem(id=9, product_id="P2003", product_name="20000毫安充电宝", spec=""),
    ])
    assert resolve_item(order, 8).product_id == "P1002"
    assert resolve_item(order, "9").product_id == "P2003"
    assert resolve_item(order, "p1001").id == 7
    assert resolve_item(order, "女士长款羽绒服").id == 8
    assert resolve_item(order, "充电宝").id == 9
    with pytest.raises(ApiError) as error:
        resolve_item(order, "羽绒服")
    assert error.value.code == "ambiguous_item" and "女士长款羽绒服" in error.value.message
    # "²" and 5000 digits are digit strings to str.isdigit() but not to int(): no 500.
    for unknown in ("键盘", 10, "10", "²", "9" * 5000):
        with pytest.raises(ApiError) as error:
            resolve_item(order, unknown)
        assert error.value.code == "invalid_item" and "充电宝" in error.value.message


def test_refund_only_and_no_reason_window(shop):
    record = post(shop, f"/api/orders/{SHIPPED}/after-sales",
                  {"kind": "refund_only", "reason_code": "not_as_described"}, status=201)
    assert (record["type"], record["kind"], record["status"]) == ("refund", "refund_only",
                                                                  "pending")
    assert record["reason"] == "与描述不符" and record["return_shipping_paid_by"] is None
    # 七天无理由: only return/exchange, and only within 7 days of delivery.
    assert_error(call(shop, "POST", f"/api/orders/{DELIVERED}/after-sales",
                      {"kind": "resend", "reason_code": "no_reason_7d"}), 422,
                 "invalid_reason_code")
    candidates = find_orders(shop, "delivered", count=60)
    late = next(o for o in candidates
                if timedelta(days=8) <= today() - day_of(o["delivered_at"]) <= timedelta(days=13))
    error = assert_error(call(shop, "POST", f"/api/orders/{late['id']}/after-sales",
                              {"kind": "return", "reason_code": "no_reason_7d"}), 409,
                         "after_sales_expired")
    assert "7天" in error["message"]
    # The same order can still be returned for a quality problem (15-day window).
    record = post(shop, f"/api/orders/{late['id']}/after-sales",
                  {"kind": "exchange", "reason_code": "size", "reason": "偏小，换大一码"},
                  status=201)
    assert record["return_shipping_paid_by"] == "buyer"


def recent_delivered(shop: str) -> dict:
    """A generated order delivered within the 15-day window, without after-sales yet."""
    return next(o for o in find_orders(shop, "delivered", count=60)
                if today() - day_of(o["delivered_at"]) <= timedelta(days=12)
                and not get(shop, f"/api/orders/{o['id']}/after-sales")["after_sales"])


def test_damage_without_photos_opens_a_todo_closed_by_evidence(shop):
    order = recent_delivered(shop)
    item = order["items"][0]
    record = post(shop, f"/api/orders/{order['id']}/after-sales",
                  {"kind": "exchange", "item": item["name"], "reason_code": "damaged",
                   "conversation_id": "conv-dmg"}, status=201)
    assert record["reason"] == "运输破损" and record["items"] == [item["product_id"]]
    [todo] = record["todos"]
    assert (todo["kind"], todo["status"], todo["text"]) == ("damage_photo", "open",
                                                            "需记录破损图片")
    assert todo["ref"] == record["ticket_no"] and todo["conversation_id"] == "conv-dmg"
    photo = upload(shop, png(seed=20))
    updated = post(shop, f"/api/after-sales/{record['id']}/evidence",
                   {"evidence": [photo["id"]]})
    assert updated["evidence"] == [photo["id"]]
    [closed] = updated["closed_todos"]
    assert closed["id"] == todo["id"] and closed["status"] == "done"
    assert closed["result_text"].startswith("已记录1张图片")
    assert_error(call(shop, "POST", f"/api/after-sales/{record['id']}/evidence", {}), 422,
                 "missing_field")
    assert_error(call(shop, "POST", "/api/after-sales/999999/evidence", {"evidence": [1]}),
                 404, "after_sale_not_found")
    # As the OpenAPI file says: at most 9 ids as sent (repeats count), ids are positive
    # numbers or strings of ASCII digits.
    evidence = f"/api/after-sales/{record['id']}/evidence"
    assert_error(call(shop, "POST", evidence, {"evidence": [photo["id"]] * 10}), 422,
                 "invalid_value")
    for bad in (["²"], [" 1"], ["0"], [0]):
        assert_error(call(shop, "POST", evidence, {"evidence": bad}), 422, "invalid_type")
    assert_error(call(shop, "POST", evidence, {"evidence": ["9" * 5000]}), 422, "invalid_value")
    assert post(shop, evidence, {"evidence": [str(photo["id"])] * 9})["evidence"] == \
        [photo["id"]]


def test_resend_opens_tracking_todo_and_ship_closes_it(shop):
    photo = upload(shop, png(seed=30), query=f"?order_id={ZHAO_DAMAGED}")
    seeded = get(shop, f"/api/todos?conversation_id=demo-zhao&order_id={ZHAO_DAMAGED}")["todos"]
    assert [(t["kind"], t["status"]) for t in seeded] == [("damage_photo", "open")]
    record = post(shop, f"/api/orders/{ZHAO_DAMAGED}/after-sales", {
        "kind": "resend", "reason_code": "damaged", "reason": "外箱压坏，内胆凹陷",
        "evidence": [photo["id"]], "conversation_id": "demo-zhao",
    }, status=201)
    kinds = {t["kind"]: t for t in record["todos"]}
    assert kinds["resend_tracking"]["status"] == "open"
    assert kinds["resend_tracking"]["text"] == "需跟进补发单号"
    assert kinds["resend_tracking"]["after_sale_id"] == record["id"]
    assert kinds["damage_photo"]["id"] == seeded[0]["id"]
    assert kinds["damage_photo"]["status"] == "done"
    assert record["courier"] is None and record["tracking_no"] is None

    shipped = post(shop, f"/api/after-sales/{record['id']}/ship",
                   {"courier": "中通", "tracking_no": "73100000000001"})
    assert (shipped["status"], shipped["courier"], shipped["tracking_no"]) == (
        "completed", "中通", "73100000000001")
    assert shipped["shipped_at"] and shipped["duplicate"] is False
    [closed] = shipped["closed_todos"]
    assert closed["id"] == kinds["resend_tracking"]["id"]
    assert closed["result_text"] == "补发单号 中通 73100000000001"
    again = post(shop, f"/api/after-sales/{record['id']}/ship",
                 {"courier": "中通", "tracking_no": "73100000000001"})
    assert again["duplicate"] is True and again["closed_todos"] == []
    assert_error(call(shop, "POST", f"/api/after-sales/{record['id']}/ship",
                      {"courier": "顺丰", "tracking_no": "SF1234567890123"}), 409,
                 "already_shipped")
    open_todos = get(shop, "/api/todos?conversation_id=demo-zhao&status=open")["todos"]
    assert all(t["order_id"] != ZHAO_DAMAGED for t in open_todos)


def test_ship_generates_a_demo_number_and_checks_the_record(shop):
    record = post(shop, f"/api/orders/{DELAYED}/after-sales",
                  {"kind": "resend", "reason_code": "not_received"}, status=201)
    shipped = post(shop, f"/api/after-sales/{record['id']}/ship", {})
    assert shipped["courier"] == "中通" and shipped["tracking_no"].startswith("7")
    assert shipped["closed_todos"][0]["result_text"] == f"补发单号 中通 {shipped['tracking_no']}"
    returned = get(shop, f"/api/orders/{ZHAO_JACKET}/after-sales")["after_sales"]
    a_return = next(r for r in returned if r["type"] == "return")
    assert_error(call(shop, "POST", f"/api/after-sales/{a_return['id']}/ship", {}), 409,
                 "not_shippable")
    assert_error(call(shop, "POST", f"/api/after-sales/{record['id']}/ship",
                      {"courier": "火箭快递"}), 422, "invalid_value")
    assert_error(call(shop, "POST", f"/api/after-sales/{record['id']}/ship",
                      {"tracking_no": "7-1"}), 422, "invalid_tracking_no")
    assert_error(call(shop, "POST", "/api/after-sales/999999/ship", {}), 404,
                 "after_sale_not_found")
