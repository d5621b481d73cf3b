"""The demo shop's storefront page: a product page with the web chat widget.

It stands in for the shop's own site: the shop knows who is logged in and signs that (with
the product being viewed) using the secret it shares with the assistant
(``CHANNEL_IDENTITY_SECRET``), then includes the widget with one script tag. The visitor
picks a demo customer (or stays anonymous) on the page.
"""

from __future__ import annotations

import html
from typing import Optional

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import html as html_response

from channels.identity import IdentityError, sign_identity
from service_common.settings import env_setting, env_str
from shop.models import Customer, Product

site = Blueprint("site", url_prefix="/site")

DEMO_CUSTOMERS = ("C0001", "C0002")
DEFAULT_PRODUCT = "P5001"


def widget_url() -> str:
    base = env_str("WEBCHAT_PUBLIC_URL") or env_setting("RASA_URL")
    return base.rstrip("/") + "/webhooks/webchat/widget.js"


def identity_token(customer_id: Optional[str], product_id: str) -> str:
    if not customer_id:
        return ""
    try:
        return sign_identity({"customer_id": customer_id, "product_id": product_id},
                             env_str("CHANNEL_IDENTITY_SECRET") or "", ttl_seconds=3600)
    except IdentityError:
        return ""


@site.get("/", strict_slashes=False)
async def product_page(request: Request) -> HTTPResponse:
    session = request.app.ctx.sessions()
    try:
        product_id = request.args.get("product") or DEFAULT_PRODUCT
        product = session.get(Product, product_id) or session.get(Product, DEFAULT_PRODUCT)
        others = session.query(Product).order_by(Product.id).limit(8).all()
        customers = [c for c in (session.get(Customer, cid) for cid in DEMO_CUSTOMERS) if c]
        chosen = request.args.get("customer") or ""
        customer = session.get(Customer, chosen) if chosen else None
    finally:
        session.close()
    if product is None:
        return html_response("<!doctype html><meta charset='utf-8'><p>商品不存在</p>", status=404)
    token = identity_token(customer.id if customer else None, product.id)
    esc = html.escape
    options = "".join(
        f"<option value='{esc(c.id)}'{' selected' if customer and c.id == customer.id else ''}>"
        f"{esc(c.name)}({esc(c.id)})</option>" for c in customers)
    products = "".join(
        f"<a class='other' href='?product={esc(p.id)}&customer={esc(chosen)}'>{esc(p.name)}</a>"
        for p in others if p.id != product.id)
    who = f"已登录:{esc(customer.name)}" if customer else "匿名访客(未登录)"
    warning = "" if env_str("CHANNEL_IDENTITY_SECRET") or not customer else \
        "<p class='warn'>未配置 CHANNEL_IDENTITY_SECRET:聊天中只能以匿名身份咨询。</p>"
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>{esc(product.name)} · 演示店铺</title>
<style>
body{{margin:0;font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;
  background:#f5f5f5;color:#222}}
header{{background:#fff;padding:10px 16px;display:flex;gap:12px;align-items:center;flex-wrap:wrap;
  border-bottom:1px solid #eee}}
header b{{color:#ff5000;font-size:18px}} header form{{margin-left:auto;font-size:14px}}
main{{max-width:860px;margin:16px auto;background:#fff;border-radius:10px;padding:20px}}
.price{{color:#ff5000;font-size:26px;font-weight:700}} .brand{{color:#888}}
.other{{display:inline-block;margin:4px 8px 4px 0;color:#1664ff}} .warn{{color:#c00}}
</style></head><body>
<header><b>演示店铺</b><span id="who">{who}</span>
<form method="get"><input type="hidden" name="product" value="{esc(product.id)}">
<label>切换身份 <select name="customer" onchange="this.form.submit()">
<option value="">匿名访客</option>{options}</select></label></form></header>
<main><p class="brand">{esc(product.brand)}</p><h1>{esc(product.name)}</h1>
<p class="price">¥{float(product.price):.2f}</p><p>{esc(product.description or '')}</p>{warning}
<h3>看看别的</h3><p>{products}</p></main>
<script src="{esc(widget_url())}" data-identity="{esc(token)}" data-product="{esc(product.id)}"
  defer></script>
</body></html>"""
    return html_response(page)
