"""Fire-fighting playbook: limits hold in a real database, coupons come from the real shop."""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Iterator, Optional

import pytest
import sqlalchemy as sa
from action_helpers import admin_proof, delivered
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.backend as backend_module
from actions import playbook
from actions.playbook import Ledger, load_plays
from service_common.config import ConfigError

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
DELAYED = "361204587712340011"  # 李娜 C0002, 中通, delayed (docs/demo_data.md)
PLAY = load_plays()[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        yield Ledger(f"sqlite:///{tmp_path / 'actions.sqlite'}")
        return
    name = f"playbook_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    ledger = Ledger(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield ledger
    ledger.engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE {name}"))
    admin.dispose()


def test_once_per_customer_within_the_window(ledger: Ledger) -> None:
    first = ledger.reserve(PLAY, "C0002", "conv-1", "test")
    assert first is not None
    ledger.settle(first, "77")
    assert ledger.reserve(PLAY, "C0002", "conv-2", "test") is None
    assert ledger.reserve(PLAY, "C0003", "conv-3", "test") is not None
    uses = ledger.history("C0002")
    assert [(u["status"], u["coupon_id"], float(u["amount"])) for u in uses] == \
        [("issued", "77", 5.0)]


def test_a_failed_issue_does_not_use_up_the_limit(ledger: Ledger) -> None:
    ledger.settle(ledger.reserve(PLAY, "C0004", "conv", "test"), None)
    assert ledger.reserve(PLAY, "C0004", "conv", "test") is not None


def test_daily_budget(ledger: Ledger) -> None:
    small = replace(PLAY, daily_budget=10.0)
    assert ledger.reserve(small, "C0010", "a", "t") and ledger.reserve(small, "C0011", "b", "t")
    assert ledger.reserve(small, "C0012", "c", "t") is None


def test_concurrent_requests_get_exactly_one_coupon(ledger: Ledger) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: ledger.reserve(PLAY, "C0020", f"c{i}", "t"), range(8)))
    assert sum(result is not None for result in results) == 1


def test_playbook_file_mistakes_are_explained(tmp_path) -> None:
    bad = tmp_path / "playbook.yml"
    bad.write_text("plays:\n  - id: x\n    situation: rainy_day\n    emotions: [angry]\n"
                   "    say: hi\n    coupon: {amount: 5}\n"
                   "    limits: {per_customer_days: 30, daily_budget: 100}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(
            f"{bad}:3: plays[0].situation: unexpected value; permitted: 'delayed_parcel'")):
        load_plays(bad)
    bad.write_text("plays:\n  - id: x\n    situation: delayed_parcel\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{bad}:2: plays[0].emotions: field required")):
        load_plays(bad)


def test_a_say_text_with_an_unknown_placeholder_stops_the_start(tmp_path) -> None:
    # It used to pass the check and fail in the action, after the coupon was issued: the
    # customer got a coupon and no answer.
    bad = tmp_path / "playbook.yml"
    bad.write_text("plays:\n  - id: x\n    situation: delayed_parcel\n    emotions: [angry]\n"
                   "    say: 送您{amount}元券,{days}天内有效\n    coupon: {amount: 5}\n"
                   "    limits: {per_customer_days: 30, daily_budget: 100}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(
            f"{bad}:5: plays[0].say: only {{amount}} and {{valid_days}} can be filled in")):
        load_plays(bad)


def upset_tracker(label: str, order_proof: Optional[str] = None) -> Tracker:
    events = [{"event": "session_started"},
              {"event": "user", "text": "快递到底怎么回事!!!",
               "parse_data": {"emotion": {"label": label, "intensity": 0.9}}},
              {"event": "user", "text": DELAYED, "parse_data": {}}]
    return Tracker("demo-li", {"verified_order_id": order_proof}, {}, events, False, None, {},
                   "action_listen")


def coupons(shop: str) -> list:
    request = urllib.request.Request(f"{shop}/api/customers/C0002/coupons",
                                     headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]})
    with urllib.request.urlopen(request) as reply:
        return [c for c in json.loads(reply.read())["coupons"]
                if c["reason"].startswith("playbook:")]


def test_angry_customer_with_a_delayed_parcel_gets_one_coupon(actions_shop, monkeypatch,
                                                               tmp_path) -> None:
    monkeypatch.setenv("SHOP_API_URL", actions_shop)
    monkeypatch.setenv("ACTIONS_DB_URL", f"sqlite:///{tmp_path / 'actions.sqlite'}")
    playbook.ledger.cache_clear()

    async def run(label: str):
        backend_module._backend = None
        dispatcher = CollectingDispatcher()
        try:
            order = await backend_module.get_backend().order(DELAYED, order_proof)
            used = await playbook.apply("delayed_parcel", order, upset_tracker(label, order_proof),
                                        dispatcher)
        finally:
            await backend_module.get_backend().close()
        return used, " ".join(m["text"] for m in delivered(dispatcher.messages, {}))

    order_proof = admin_proof(DELAYED)
    before = len(coupons(actions_shop))
    assert asyncio.run(run("calm")) == (False, "")
    used, said = asyncio.run(run("angry"))
    assert used and "5元无门槛优惠券" in said and "抱歉" in said
    assert asyncio.run(run("angry")) == (False, "")  # once per customer per 30 days
    issued = coupons(actions_shop)
    assert len(issued) == before + 1
    assert issued[0]["amount"] == 5 and DELAYED in issued[0]["reason"]
    playbook.ledger.cache_clear()
