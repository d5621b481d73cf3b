"""Deployment concerns: API key, PostgreSQL, date rebase after restart, reseed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from shop_api_helpers import (
    DELAYED,
    DELIVERED,
    SHIPPED,
    UNPAID,
    ZHAO_DAMAGED,
    ZHAO_JACKET,
    assert_error,
    call,
    day_of,
    get,
    png,
    post,
    today,
    upload,
)
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
PG_SCHEMA = "shop_pytest"


def test_api_key_is_enforced(shop_factory):
    shop = shop_factory(env={"SHOP_API_KEY": "s3cret-key"})
    url = f"/api/orders/{SHIPPED}"
    assert get(shop.url, "/health") == {"status": "ok"}
    assert call(shop.url, "GET", "/openapi.yaml").status_code == 200
    no_key = {"X-Api-Key": None}  # the helpers' session sends the admin key otherwise
    assert_error(call(shop.url, "GET", url, headers=no_key), 401, "unauthorized")
    assert_error(call(shop.url, "GET", url, headers={"X-Api-Key": "wrong"}), 401, "unauthorized")
    assert_error(call(shop.url, "POST", f"{url}/cancel", {}, headers=no_key), 401, "unauthorized")
    # The assistant's key alone does not open an order: that needs the owner's proof.
    assert_error(call(shop.url, "GET", url, headers={"X-Api-Key": "s3cret-key"}), 403,
                 "proof_required")
    order = get(shop.url, url)  # the back office (admin key)
    assert order["status"] == "shipped"
    get(shop.url, "/api/customers/by-phone/13812345678", headers={"X-Api-Key": "s3cret-key"})
    shop.stop()
    # One line per request, phone numbers masked, no addresses.
    log = shop.log()
    assert "/api/customers/by-phone/138****5678 200" in log
    assert f"GET /api/orders/{SHIPPED} 401" in log
    assert "13812345678" not in log and "文一西路" not in log


def _seed_only(db_url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "shop", "--db-url", db_url, "--seed-only", *args],
        cwd=ROOT, check=True, capture_output=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_dates_rebase_on_restart(shop_factory, tmp_path):
    """Seeded five days ago: after a restart the demo world is current again."""
    db_url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    seed_day = today() - timedelta(days=5)
    _seed_only(db_url, "--seed-date", seed_day.isoformat())
    engine = create_engine(db_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT value FROM shop_meta")).scalar_one()
        latest = connection.execute(text(
            "SELECT max(e.time) FROM tracking_events e JOIN shipments s ON s.id = e.shipment_id "
            "WHERE s.order_id = :order_id"), {"order_id": SHIPPED}).scalar_one()
    engine.dispose()
    assert stored == seed_day.isoformat() and str(latest).startswith(seed_day.isoformat())

    for _restart in range(2):  # the second start must not shift again
        shop = shop_factory(db_url=db_url)
        tracking = get(shop.url, f"/api/orders/{SHIPPED}/tracking")
        assert day_of(tracking["latest_event"]["time"]) == today()
        assert tracking["eta"] == (today() + timedelta(days=1)).isoformat()
        assert tracking["delayed"] is False
        delayed = get(shop.url, f"/api/orders/{DELAYED}/tracking")
        assert day_of(delayed["latest_event"]["time"]) == today() - timedelta(days=3)
        assert delayed["delayed"] is True
        delivered = get(shop.url, f"/api/orders/{DELIVERED}")
        assert day_of(delivered["delivered_at"]) == today() - timedelta(days=3)
        assert "今天" in get(shop.url, "/api/products/P1001/ship-promise")["text"]
        shop.stop()


@pytest.fixture
def pg_url(postgres_schema) -> Iterator[str]:
    with postgres_schema(PG_SCHEMA) as url:
        yield url


def test_postgresql_seed_serve_restart_reseed(shop_factory, pg_url):
    shop = shop_factory(db_url=pg_url)
    assert get(shop.url, "/api/customers/by-channel/demo-wang")["id"] == "C0001"
    tracking = get(shop.url, f"/api/orders/{SHIPPED}/tracking")
    assert len(tracking["events"]) >= 4 and tracking["latest_event"]["time"].endswith("+08:00")
    assert len(get(shop.url, "/api/products")["products"]) == 31
    assert post(shop.url, f"/api/orders/{UNPAID}/cancel", {})["status"] == "cancelled"
    assert post(shop.url, f"/api/orders/{SHIPPED}/urge", {}, status=201)
    shop.stop()

    shop = shop_factory(db_url=pg_url)  # data survives a restart (no reseed)
    assert get(shop.url, f"/api/orders/{UNPAID}")["status"] == "cancelled"
    assert post(shop.url, f"/api/orders/{SHIPPED}/urge", {}, status=200)["duplicate"] is True
    shop.stop()

    shop = shop_factory(db_url=pg_url, extra_args=("--reseed",))
    assert get(shop.url, f"/api/orders/{UNPAID}")["status"] == "unpaid"
    assert get(shop.url, f"/api/followups?order_id={SHIPPED}")["followups"] == []
    shop.stop()


def test_postgresql_uploads_todos_size_advice(shop_factory, pg_url, tmp_path):
    shop = shop_factory(db_url=pg_url, extra_args=("--upload-dir", str(tmp_path / "up")))
    data = png(seed=7)
    meta = upload(shop.url, data, query=f"?order_id={ZHAO_DAMAGED}&conversation_id=demo-zhao")
    assert call(shop.url, "GET", meta["url"]).content == data
    assert (tmp_path / "up" / meta["sha256"][:2] / f"{meta['sha256']}.png").is_file()
    record = post(shop.url, f"/api/orders/{ZHAO_DAMAGED}/after-sales",
                  {"kind": "resend", "reason_code": "damaged", "evidence": [meta["id"]],
                   "conversation_id": "demo-zhao"}, status=201)
    assert record["evidence"] == [meta["id"]]
    assert {t["kind"] for t in record["todos"]} == {"resend_tracking", "damage_photo"}
    shipped = post(shop.url, f"/api/after-sales/{record['id']}/ship",
                   {"courier": "中通", "tracking_no": "73111122223333"})
    assert shipped["closed_todos"][0]["result_text"] == "补发单号 中通 73111122223333"
    assert get(shop.url, "/api/todos?conversation_id=demo-zhao&status=open")["todos"] == []
    advice = get(shop.url, "/api/products/P1001/size-advice?height_cm=175&weight_kg=70")
    assert advice["size"] == "L" and advice["feedback"]
    invoice = post(shop.url, f"/api/orders/{ZHAO_JACKET}/invoices",
                   {"type": "special", "title": "南京云帆信息技术有限公司",
                    "tax_id": "91350100M000100Y43", "email": "cw@yunfan.cn"}, status=201)
    assert invoice["tax_id"] == "91350100M000100Y43"
    shop.stop()
