"""Deployment concerns: token auth, log privacy, restarts, PostgreSQL, the queue file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from desk_helpers import TEST_TOKEN, api, assert_error, get, packet, post
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]

PHONE = "13812345678"
ADDRESS = "浙江省杭州市余杭区文一西路969号"


def test_bearer_token_is_enforced(desk_factory):
    desk = desk_factory(env={"DESK_API_TOKEN": "s3cret-desk-token"})
    good = {"Authorization": "Bearer s3cret-desk-token"}
    assert api(desk.url, "GET", "/health", headers={}).json() == {"status": "ok"}
    assert api(desk.url, "GET", "/openapi.yaml", headers={}).status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-desk-token"},
                    {"Authorization": "Basic s3cret-desk-token"}, {"Authorization": "Bearer "},
                    {"Authorization": f"Bearer {TEST_TOKEN}"}):
        response = api(desk.url, "GET", "/api/queues", headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # Refused before the body is even read: nothing is stored.
    assert_error(api(desk.url, "POST", "/api/handoffs", packet(), headers={}), 401,
                 "unauthorized")
    assert_error(api(desk.url, "POST", "/api/handoffs/1/resolve", {"agent": "x"},
                     headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    assert api(desk.url, "GET", "/api/queues", headers=good).status_code == 200
    assert api(desk.url, "GET", "/api/queues",
               headers={"Authorization": "bearer s3cret-desk-token"}).status_code == 200
    assert api(desk.url, "GET", "/api/handoffs", headers=good).json()["count"] == 0


def test_no_token_outside_demo_mode_refuses_to_start(root_conftest):
    result = subprocess.run(
        [sys.executable, "-m", "desk", "--db-url", "sqlite:///:memory:"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "set DESK_API_TOKEN" in result.stderr
    published = subprocess.run(
        [sys.executable, "-m", "desk", "--db-url", "sqlite:///:memory:"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "DESK_API_TOKEN": "desk-dev-token"},
    )
    assert published.returncode == 2 and "not a published value" in published.stderr


def test_development_token_only_in_demo_mode(desk_factory):
    desk = desk_factory(env={"DESK_API_TOKEN": "", "DEMO_MODE": "1"})
    dev = {"Authorization": "Bearer desk-dev-token"}
    assert api(desk.url, "GET", "/api/queues", headers=dev).status_code == 200
    assert_error(api(desk.url, "GET", "/api/queues"), 401, "unauthorized")
    desk.stop()
    assert "demo mode: the /api routes accept the development token" in desk.log()


def test_logs_never_show_phones_or_addresses(desk_factory):
    desk = desk_factory()
    conversation = f"wx-{PHONE}"
    sent = packet(
        conversation,
        customer={"id": "C0001", "name": "王伟"},
        transcript=[{"role": "customer", "text": f"我电话{PHONE}，地址{ADDRESS}，转人工",
                     "time": 1700000000.0}],
        slots={"phone": PHONE, "address": ADDRESS},
        orders=[{"id": "361204587712340001", "receiver_phone": PHONE, "address": ADDRESS}],
    )
    created = post(desk.url, "/api/handoffs", sent, status=201)
    post(desk.url, "/api/handoffs", sent)  # the update path logs too
    detail = get(desk.url, f"/api/handoffs/{created['id']}")
    # The agent still sees everything, unmasked.
    assert detail["slots"] == {"phone": PHONE, "address": ADDRESS}
    post(desk.url, f"/api/handoffs/{created['id']}/claim", {"agent": f"客服{PHONE}"})
    assert_error(api(desk.url, "POST", f"/api/handoffs/{created['id']}/resolve",
                     {"agent": "小李", "note": f"已改地址为{ADDRESS}"}), 502)
    assert_error(api(desk.url, "GET", f"/api/handoffs?status={PHONE}"), 400)
    assert_error(api(desk.url, "GET", f"/api/handoffs/{PHONE}x"), 404)
    desk.stop()
    log = desk.log()
    assert f"conversation=wx-{PHONE[:3]}****{PHONE[-4:]}" in log  # ids are masked, not lost
    assert "handing conversation wx-138****5678 back to the bot failed" in log
    assert PHONE not in log
    for fragment in ("文一西路", "余杭区", "转人工"):
        assert fragment not in log


def _resolve_in_db(db_url: str, handoff_id: int) -> None:
    """Mark a handoff resolved in the database itself: without Rasa the API cannot."""
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text(
            "UPDATE desk_handoffs SET status = 'resolved', resolved_at = claimed_at, "
            "resolved_by = claimed_by WHERE id = :id"), {"id": handoff_id})
    engine.dispose()


def _restart_scenario(desk_factory, db_url: str) -> None:
    desk = desk_factory(db_url=db_url)
    first = post(desk.url, "/api/handoffs", packet(queue="senior", priority=2), status=201)
    second = post(desk.url, "/api/handoffs", packet(queue="senior", priority=4), status=201)
    claimed = post(desk.url, "/api/handoffs", packet(queue="finance"), status=201)
    claim = post(desk.url, f"/api/handoffs/{claimed['id']}/claim", {"agent": "小李"})
    before = get(desk.url, f"/api/handoffs/{first['id']}")
    desk.stop()

    desk = desk_factory(db_url=db_url)  # same database: everything is still there
    assert get(desk.url, f"/api/handoffs/{first['id']}") | {"live_error": None} == \
        before | {"live_error": None}
    assert get(desk.url, f"/api/handoffs/{second['id']}")["position"] == 2
    after = get(desk.url, f"/api/handoffs/{claimed['id']}")
    assert (after["status"], after["claimed_by"], after["claimed_at"]) == (
        "active", "小李", claim["claimed_at"])
    # One open handoff per conversation holds across restarts too.
    again = post(desk.url, "/api/handoffs", packet(before["conversation_id"], queue="senior",
                                                   priority=5))
    assert again["id"] == first["id"] and again["priority"] == 2
    queues = {q["name"]: q for q in get(desk.url, "/api/queues")["queues"]}
    assert (queues["senior"]["waiting"], queues["finance"]["active"]) == (2, 1)

    # A resolved handoff is final: resolving again is a 409, a new escalation opens a new one.
    _resolve_in_db(db_url, claimed["id"])
    error = assert_error(api(desk.url, "POST", f"/api/handoffs/{claimed['id']}/resolve",
                             {"agent": "小李"}), 409, "already_resolved")
    assert "小李" in error["message"]
    assert_error(api(desk.url, "POST", f"/api/handoffs/{claimed['id']}/claim",
                     {"agent": "小张"}), 409, "already_resolved")
    reopened = post(desk.url, "/api/handoffs", packet(after["conversation_id"]), status=201)
    assert reopened["id"] != claimed["id"]
    resolved = get(desk.url, "/api/handoffs?status=resolved")["handoffs"]
    assert [h["id"] for h in resolved] == [claimed["id"]]
    assert resolved[0]["wait_seconds"] is not None
    desk.stop()


def test_sqlite_data_survives_a_restart(desk_factory, tmp_path):
    db_file = tmp_path / "nested" / "folder" / "desk.sqlite"  # parent folders are created
    _restart_scenario(desk_factory, f"sqlite:///{db_file}")
    assert db_file.exists()


def test_postgresql_serve_restart(desk_factory, pg_url):
    _restart_scenario(desk_factory, pg_url)
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        indexes = connection.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'desk_handoffs'")).scalars().all()
        # The open-handoff rule is enforced by the database, not only by the service.
        assert any("UNIQUE" in d and "resolved" in d for d in indexes), indexes
        with pytest.raises(Exception, match="uq_desk_handoffs_open_conversation"):
            connection.execute(text(
                "INSERT INTO desk_handoffs (conversation_id, channel, queue, priority, status, "
                "rule_id, rule_reason, office_hours, packet, updates, created_at, updated_at) "
                "SELECT conversation_id, channel, queue, priority, 'waiting', rule_id, "
                "rule_reason, office_hours, packet, 0, created_at, updated_at "
                "FROM desk_handoffs WHERE status = 'waiting' LIMIT 1"))
    engine.dispose()


def _start_with_queues(tmp_path: Path, content: str) -> subprocess.CompletedProcess:
    queues = tmp_path / "queues.yml"
    queues.write_text(content, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "desk", "--port", "1", "--queues", str(queues),
         "--db-url", f"sqlite:///{tmp_path / 'never.sqlite'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


BAD_QUEUE_FILES = [
    ("queues:\n  general: {avg_handling_minutes: 3\n", "queues.yml:3: invalid YAML"),
    ("queues:\n  general:\n    avg_handling_minutes: 3\n   label: x\n",
     "queues.yml:4: invalid YAML"),
    ("general: 3\n", "queues.yml:1: queues: field required"),
    ("queues: []\n", "queues: define at least one queue"),
    ("queues: {}\n", "queues: define at least one queue"),
    ("", "queues: field required"),
    ("queues:\n  general: 3\n", "queues.general: value is not a valid dict"),
    ("queues:\n  general: {label: 综合}\n", "queues.general.avg_handling_minutes: field required"),
    ("queues:\n  general: {avg_handling_minutes: 0}\n", "greater than 0"),
    ("queues:\n  general: {avg_handling_minutes: '3'}\n", "must be a number"),
    ("queues:\n  general: {avg_handling_minutes: .nan}\n", "greater than 0"),
    ("queues:\n  General Queue: {avg_handling_minutes: 3}\n", "queues.<key>: string does not"),
    ("queues:\n  general: {avg_handling_minutes: 3, minutes: 4}\n",
     "queues.yml:2: queues.general.minutes: unknown key"),
    ("queues:\n  general: {avg_handling_minutes: 3, label: ''}\n", "queues.general.label:"),
]


@pytest.mark.parametrize(("content", "message"), BAD_QUEUE_FILES)
def test_bad_queue_file_stops_start_up(tmp_path, content, message):
    result = _start_with_queues(tmp_path, content)
    assert result.returncode == 2, result
    assert "desk: configuration error:" in result.stderr
    assert str(tmp_path / "queues.yml") in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "never.sqlite").exists()  # refused before touching the database


def test_missing_queue_file_stops_start_up(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "desk", "--queues", str(tmp_path / "nope.yml")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "nope.yml: cannot read the file" in result.stderr


def test_custom_queue_file(desk_factory, tmp_path):
    queues = tmp_path / "queues.yml"
    queues.write_text("queues:\n  vip: {label: 贵宾, avg_handling_minutes: 2.5}\n",
                      encoding="utf-8")
    desk = desk_factory(env={"DESK_QUEUES": str(queues)})
    assert get(desk.url, "/api/queues")["queues"] == [{
        "name": "vip", "label": "贵宾", "avg_handling_minutes": 2.5, "waiting": 0,
        "callback": 0, "active": 0, "expected_wait_minutes": 2.5}]
    error = assert_error(api(desk.url, "POST", "/api/handoffs", packet(queue="general")), 400,
                         "unknown_queue")
    assert "vip" in error["message"]
    created = post(desk.url, "/api/handoffs", packet(queue="vip"), status=201)
    assert created["expected_wait_minutes"] == 2.5


def test_unreachable_database_is_a_clear_start_up_error(root_conftest):
    port = root_conftest.free_port()  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "desk", "--db-url", f"postgresql://desk@127.0.0.1:{port}/desk"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
             "DESK_API_TOKEN": "t0ken-of-this-test-run"},
    )
    assert result.returncode == 1
    assert "desk: cannot prepare the database: OperationalError" in result.stderr
    assert "Traceback" not in result.stderr
