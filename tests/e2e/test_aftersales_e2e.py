"""After-sales over REST: a damaged parcel with a photo becomes a resend and a to-do."""

from __future__ import annotations

import base64
import json
import sys
import threading
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from scenarios import identity_metadata, post_message, reply_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shop"))
from shop_api_helpers import png  # noqa: E402  (tiny real images)

CRUSHED = "361204587712340022"  # 赵磊's rice cooker, delivered yesterday (tail 9966)


@contextmanager
def serving(content: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            try:
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the action server stops reading after 10 MB

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # "localhost" is this stack's allowed internal media host (conftest); any other
        # internal address is refused (tests/security).
        yield f"http://localhost:{server.server_address[1]}/photo.png"
    finally:
        server.shutdown()


def data_url(content: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(content).decode()}"


def send(stack, sender: str, text: str, attachments: Optional[List[Dict[str, Any]]] = None
         ) -> str:
    body: Dict[str, Any] = {"sender": sender, "message": text}
    if attachments:
        body["metadata"] = {"attachments": attachments}
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook",
                                     json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return reply_text(json.loads(reply.read()))


def shop(stack, path: str) -> Any:
    with urllib.request.urlopen(f"{stack.shop_url}{path}", timeout=10) as reply:
        return json.loads(reply.read())


def start_damage_claim(stack, sender: str) -> None:
    assert "订单号" in send(stack, sender, "收到的电饭煲外壳摔坏了")
    assert "后4位" in send(stack, sender, CRUSHED)
    assert "照片" in send(stack, sender, "9966")


def test_damaged_parcel_with_a_photo_is_resent_and_tracked(stack) -> None:
    sender = "e2e-damaged"
    start_damage_claim(stack, sender)
    answer = send(stack, sender, "照片发你了", [{"type": "image",
                                              "url": data_url(png(), "image/png")}])
    assert "补发" in answer and "售后单号" in answer, answer
    after_sales = shop(stack, f"/api/orders/{CRUSHED}/after-sales")["after_sales"]
    resend = [a for a in after_sales if a["kind"] == "resend"]
    assert len(resend) == 1 and resend[0]["evidence"] and resend[0]["reason_code"] == "damaged"
    todos = shop(stack, f"/api/todos?conversation_id={sender}&status=open")["todos"]
    assert any(todo["kind"] == "resend_tracking" for todo in todos), todos


def test_a_pdf_or_a_huge_image_is_refused_and_nothing_is_created(stack) -> None:
    sender = "e2e-damaged-bad-files"
    start_damage_claim(stack, sender)
    before = len(shop(stack, f"/api/orders/{CRUSHED}/after-sales")["after_sales"])
    pdf = data_url(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "image/png")
    assert "只能接收图片" in send(stack, sender, "照片发你了", [{"type": "image", "url": pdf}])
    # A 20 MB photo comes as a link (what chat channels send), from a real HTTP server.
    with serving(png() + b"\x00" * (20 * 1024 * 1024)) as url:
        assert "图片太大" in send(stack, sender, "照片发你了", [{"type": "image", "url": url}])
    assert len(shop(stack, f"/api/orders/{CRUSHED}/after-sales")["after_sales"]) == before


def test_a_size_exchange_asks_for_the_size_and_files_it(stack) -> None:
    jacket_order = "361204587712340021"  # 赵磊's jacket and power bank, delivered
    sender = "e2e-exchange-size"
    assert "订单号" in send(stack, sender, "羽绒服小了 想换货")
    assert "后4位" in send(stack, sender, jacket_order)
    assert "换成什么尺码" in send(stack, sender, "9966")
    # The customer pays the postage of a size exchange: said, and filed on the yes.
    asked = send(stack, sender, "要XL的")
    assert "运费需要您承担" in asked and "需要我现在帮您提交申请吗" in asked, asked
    answer = send(stack, sender, "好的")
    assert "换货申请已提交" in answer and ",换XL" in answer, answer
    # The order number sent again: the same exchange, not its questions again.
    again = send(stack, sender, jacket_order)
    assert "换货申请已经在处理了" in again and "不用重复提交" in again, again
    # The parcel back said on its own: its waybill asked for, then recorded.
    assert "快递单号" in send(stack, sender, "已经寄回了")
    assert "已为您登记寄回的包裹:中通 75312345678901" in send(stack, sender, "中通 75312345678901")
    after_sales = shop(stack, f"/api/orders/{jacket_order}/after-sales")["after_sales"]
    assert [a["reason"] for a in after_sales if a["kind"] == "exchange"] == ["尺码不合适,换XL"]


def test_price_protection_checks_the_order_the_customer_names(stack) -> None:
    # The policy answer asks for the order; the number then gets the order checked, not the
    # policy again (the loop real sessions showed).
    sender = "e2e-price-protection"
    answer = send(stack, sender, "买了个电饭煲 才两天就降价了 有价保吗")
    assert "价保" in answer and "订单号发给我" in answer, answer
    assert "后4位" in send(stack, sender, CRUSHED)
    answer = send(stack, sender, "9966")
    assert "4L智能电饭煲下单价¥449.00,现价¥399.00" in answer, answer
    assert "差价¥50.00已经申请价保退款" in answer, answer
    claims = [record for record in shop(stack, f"/api/orders/{CRUSHED}/after-sales")
              ["after_sales"] if record["kind"] == "price_protection"]
    assert [(claim["refund_amount"], claim["conversation_id"]) for claim in claims] == \
        [(50.0, sender)]
    # The number in the question itself: the claim is shown, nothing is filed twice.
    sender = "e2e-price-protection-again"
    assert "后4位" in send(stack, sender, f"订单{CRUSHED} 降价了 能退差价吗")
    answer = send(stack, sender, "9966")
    assert "已经申请过价保了" in answer and claims[0]["ticket_no"] in answer, answer
    # Logged in, with the day it arrived and the day he looked: neither is the order date.
    zhao = identity_metadata("C0061", stack.env["CHANNEL_IDENTITY_SECRET"])
    sender = "e2e-price-protection-logged-in"
    answer = reply_text(post_message(stack.rasa_url, sender,
                                     "我昨天刚收到的电饭煲 今天一看降价了50？？能价保吗",
                                     metadata=zhao))
    assert "没找到" not in answer and CRUSHED in answer, answer


def test_a_quality_problem_asks_new_one_or_money_back(stack) -> None:
    # Only reported: the customer chooses (the policy alone would refund), by a button.
    jacket_order = "361204587712340021"  # 赵磊's jacket and power bank, delivered
    sender = "e2e-quality-remedy"
    assert "订单号" in send(stack, sender, "充电宝充不进电")
    assert "后4位" in send(stack, sender, jacket_order)
    replies = post_message(stack.rasa_url, sender, "9966")
    assert "可以给您换新还是退货退款" in reply_text(replies), reply_text(replies)
    [new_one, _] = [button for reply in replies for button in reply.get("buttons") or []]
    assert new_one["title"] == "换新"
    assert "照片" in send(stack, sender, new_one["payload"])
    answer = send(stack, sender, "照片发你了", [{"type": "image",
                                              "url": data_url(png(seed=9), "image/png")}])
    assert "换货申请已提交" in answer, answer
    after_sales = shop(stack, f"/api/orders/{jacket_order}/after-sales")["after_sales"]
    assert [(a["kind"], a["reason_code"]) for a in after_sales
            if a["reason_code"] == "quality"] == [("exchange", "quality")]


def test_a_guests_price_fall_is_price_protection_not_an_after_sale(stack) -> None:
    sender = "e2e-price-fall-guest"
    assert "订单号" in send(stack, sender, "前天买的电饭煲今天降了50 怎么申请")
    assert "后4位" in send(stack, sender, CRUSHED)
    answer = send(stack, sender, "9966")
    assert "价保" in answer and "售后原因" not in answer, answer


def test_can_i_return_it_is_answered_and_filed_only_on_yes(stack) -> None:
    wang = identity_metadata("C0001", stack.env["CHANNEL_IDENTITY_SECRET"])
    sender = "e2e-return-question"
    delivered_order = "361204587712340003"
    answer = reply_text(post_message(stack.rasa_url, sender, "空气炸锅不想要了 能退吗",
                                     metadata=wang))
    assert "需要我现在帮您提交申请吗" in answer and "已提交" not in answer, answer
    answer = reply_text(post_message(stack.rasa_url, sender, "/deny", metadata=wang))
    assert "先不提交申请" in answer, answer
    assert shop(stack, f"/api/orders/{delivered_order}/after-sales")["after_sales"] == []
