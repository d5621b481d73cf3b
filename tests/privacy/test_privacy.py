"""`python -m privacy` against real stores: Rasa's own SQLTrackerStore (SQLite and PostgreSQL),
a running shop, the desk's tables (its own models) and an analytics table; every request is
recorded (issue 13, 个人信息保护法)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql://postgres@127.0.0.1:5432"
WANG, LI = "C0001", "C0002"  # demo-wang (13812345678), demo-li (13966668888)
NOW = time.time()
OLD = NOW - 100 * 86400


def _user(text: str, timestamp: float, metadata: dict | None = None):
    from rasa.shared.core.events import UserUttered

    return UserUttered(text, {"name": "greet", "confidence": 1.0}, metadata=metadata or {},
                       timestamp=timestamp)


def _write_trackers(store) -> None:
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    verified = {"identity": {"customer_id": WANG, "verified": True}}
    forged = {"identity": {"customer_id": WANG, "verified": False}}
    conversations = {
        "demo-wang": [_user("我的快递到哪了 13812345678", NOW - 60)],  # a linked channel id
        "web-7f3a": [_user("你好", NOW - 50, verified)],  # the channel verified 王伟
        "app-slot": [_user("查订单", NOW - 40), SlotSet("customer_id", WANG, timestamp=NOW - 39)],
        "web-forged": [_user("我是王伟", NOW - 30, forged)],  # claimed, not verified: not his
        "demo-li": [_user("退货", NOW - 20)],
        "old-guest": [_user("很久以前的问题", OLD)],
    }
    for sender, events in conversations.items():
        tracker = DialogueStateTracker.from_events(sender, events)
        asyncio.run(store.save(tracker))


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request, tmp_path):
    """URLs of a tracker store, a desk database, an analytics database and the request log."""
    from rasa.core.tracker_store import SQLTrackerStore

    if request.param == "sqlite":
        urls = {name: f"sqlite:///{tmp_path / f'{name}.sqlite'}"
                for name in ("tracker", "desk", "analytics", "privacy")}
        store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.sqlite"))
        yield urls, store
        return
    import psycopg2

    suffix = uuid.uuid4().hex[:8]
    names = {name: f"shopsec_privacy_{name}_{suffix}"
             for name in ("tracker", "desk", "analytics", "privacy")}
    admin = psycopg2.connect(f"{PG}/postgres", connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        for database in names.values():
            cursor.execute(f"CREATE DATABASE {database}")
    store = SQLTrackerStore(dialect="postgresql", host="127.0.0.1", port=5432,
                            username="postgres", db=names["tracker"])
    try:
        yield {name: f"{PG}/{database}" for name, database in names.items()}, store
    finally:
        store.engine.dispose()
        with admin.cursor() as cursor:
            for database in names.values():
                cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()


def _desk(url: str) -> None:
    from desk.models import Base, Handoff

    engine = sa.create_engine(url, future=True)
    Base.metadata.create_all(engine)
    meta = sa.MetaData()
    sa.Table("desk_handoffs", meta, autoload_with=engine)
    probe = sa.Table("desk_privacy_probe", meta,  # a child table, by foreign key
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("handoff_id", sa.Integer, sa.ForeignKey("desk_handoffs.id")),
                     sa.Column("text", sa.Text))
    probe.create(engine)
    now = datetime.now()
    with sa.orm.Session(engine) as session:
        for conversation, customer in (("web-7f3a", WANG), ("demo-li", LI), ("app-slot", None)):
            session.add(Handoff(conversation_id=conversation, channel="rest", queue="general",
                                priority=3, status="open", rule_id="asked_for_human",
                                rule_reason="x", customer_id=customer, office_hours=True,
                                packet={"transcript": [{"text": "我的手机13812345678"}]},
                                updates=0, created_at=now, updated_at=now))
        session.commit()
        ids = dict(session.execute(sa.select(Handoff.conversation_id, Handoff.id)).all())
    with engine.begin() as connection:
        connection.execute(probe.insert(), [
            {"handoff_id": ids["web-7f3a"], "text": "王伟的备注"},
            {"handoff_id": ids["demo-li"], "text": "李娜的备注"}])
    engine.dispose()


def _analytics(url: str) -> None:
    engine = sa.create_engine(url, future=True)
    facts = sa.Table("facts", sa.MetaData(), sa.Column("key", sa.String(64), primary_key=True),
                     sa.Column("conversation_id", sa.String(255)),
                     sa.Column("customer_id", sa.String(80)), sa.Column("text", sa.Text))
    facts.create(engine)
    with engine.begin() as connection:
        connection.execute(facts.insert(), [
            {"key": "a", "conversation_id": "demo-wang", "customer_id": None, "text": "快递"},
            {"key": "b", "conversation_id": "x", "customer_id": WANG, "text": "会员"},
            {"key": "c", "conversation_id": "demo-li", "customer_id": LI, "text": "退货"}])
    engine.dispose()


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "privacy", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _rows(url: str, query: str) -> list:
    engine = sa.create_engine(url, future=True)
    with engine.connect() as connection:
        result = [tuple(row) for row in connection.execute(sa.text(query))]
    engine.dispose()
    return result


def test_export_delete_and_retention_across_every_store(databases, shop_factory, tmp_path):
    urls, store = databases
    _write_trackers(store)
    _desk(urls["desk"])
    _analytics(urls["analytics"])
    shop = shop_factory()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT),
           "TRACKER_STORE_URL": urls["tracker"], "SHOP_API_URL": shop.url,
           "SHOP_ADMIN_KEY": os.environ["SHOP_ADMIN_KEY"], "DESK_DB_URL": urls["desk"],
           "ANALYTICS_DB_URL": urls["analytics"], "PRIVACY_DB_URL": urls["privacy"]}

    # Export: everything of 王伟's, nothing of anyone else's.
    out = tmp_path / "wang.json"
    result = _cli(env, "export", "--customer", WANG, "--by", "dpo@shop", "--reason", "工单123",
                  "--out", str(out))
    assert result.returncode == 0, result.stderr
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert oct(out.stat().st_mode)[-3:] == "600"
    conversations = exported["data"]["tracker_store"]["conversations"]
    assert set(conversations) == {"demo-wang", "web-7f3a", "app-slot"}
    assert set(exported["conversations"]) >= {"demo-wang", "wx_o_wangwei", "web-7f3a",
                                              "app-slot"}
    shop_tables = exported["data"]["shop"]["tables"]
    assert shop_tables["customers"][0]["phone"] == "13812345678"  # their own copy: unmasked
    assert {o["customer_id"] for o in shop_tables["orders"]} == {WANG}
    assert {h["conversation_id"] for h in exported["data"]["desk"]["desk_handoffs"]} == \
        {"web-7f3a", "app-slot"}
    assert [p["text"] for p in exported["data"]["desk"]["desk_privacy_probe"]] == ["王伟的备注"]
    assert {f["key"] for f in exported["data"]["analytics"]["facts"]} == {"a", "b"}
    assert "李娜" not in out.read_text(encoding="utf-8")

    # Delete: gone everywhere, the others' data untouched.
    assert _cli(env, "delete", "--customer", WANG).returncode == 2  # needs --yes
    result = _cli(env, "delete", "--customer", WANG, "--yes", "--by", "dpo@shop")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)["counts"]
    assert counts["tracker_store"]["events"] > 0 and counts["shop"]["orders"] >= 4
    senders = {row[0] for row in _rows(urls["tracker"], "SELECT DISTINCT sender_id FROM events")}
    assert senders == {"web-forged", "demo-li", "old-guest"}
    headers = {"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}
    assert requests.get(f"{shop.url}/api/customers/{WANG}", headers=headers,
                        timeout=10).status_code == 404
    assert requests.get(f"{shop.url}/api/orders/361204587712340001", headers=headers,
                        timeout=10).status_code == 404
    assert requests.get(f"{shop.url}/api/customers/{LI}", headers=headers, timeout=10).ok
    assert _rows(urls["desk"], "SELECT conversation_id FROM desk_handoffs") == [("demo-li",)]
    assert _rows(urls["desk"], "SELECT text FROM desk_privacy_probe") == [("李娜的备注",)]
    assert _rows(urls["analytics"], "SELECT key FROM facts") == [("c",)]

    # By phone: the shop finds the customer.
    result = _cli(env, "delete", "--phone", "13966668888", "--yes")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["customer_id"] == LI
    assert _rows(urls["desk"], "SELECT count(*) FROM desk_handoffs") == [(0,)]

    # Retention: only conversations whose newest event is older than RETENTION_DAYS.
    result = _cli({**env, "RETENTION_DAYS": "30"}, "retention")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["conversations"] == 1
    senders = {row[0] for row in _rows(urls["tracker"], "SELECT DISTINCT sender_id FROM events")}
    assert senders == {"web-forged"}

    # The record: who, when, what, counts; readable with `python -m privacy log`.
    log = [json.loads(line) for line in _cli(env, "log").stdout.splitlines()]
    assert [(e["action"], e["customer_id"], e["status"]) for e in log] == [
        ("export", WANG, "done"), ("delete", WANG, "done"), ("delete", LI, "done"),
        ("retention", None, "done")]
    assert log[0]["requested_by"] == "dpo@shop" and log[0]["reason"] == "工单123"
    assert log[0]["requested_at"] and json.loads(log[1]["counts"])["desk"]["desk_handoffs"] == 2


def test_a_registered_store_takes_part(tmp_path, monkeypatch):
    """The hook analytics (or any package) uses: its store is asked like the built-in ones."""
    from privacy import registry, service

    calls = []

    class Probe:
        name = "analytics"

        def discover(self, subject):
            subject.add_conversations(["from-probe"])

        def export(self, subject):
            calls.append(("export", list(subject.conversations)))
            return {"facts": [{"customer_id": subject.customer_id}]}

        def delete(self, subject):
            calls.append(("delete", subject.customer_id))
            return {"facts": 1}

    saved = registry.registered()
    try:
        for name in saved:
            registry.register(name, lambda env: None)
        registry.register("analytics", lambda env: Probe())
        env = {"PRIVACY_DB_URL": f"sqlite:///{tmp_path / 'log.sqlite'}"}
        result = service.run("export", env, customer_id="C0009", by="test")
        assert result["data"]["analytics"] == {"facts": [{"customer_id": "C0009"}]}
        assert result["counts"] == {"analytics": {"facts": 1}}
        assert service.run("delete", env, customer_id="C0009")["counts"] == {
            "analytics": {"facts": 1}}
    finally:
        for name, factory in saved.items():
            registry.register(name, factory)
    assert calls == [("export", ["from-probe"]), ("delete", "C0009")]
