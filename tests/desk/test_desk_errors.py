"""Bad input never yields a 500 or a stored handoff: every case is a clear 4xx JSON error."""

from __future__ import annotations

import json

import pytest
from desk_helpers import AUTH, api, assert_error, get, packet


@pytest.fixture(scope="module")
def desk(desk_factory) -> str:
    return desk_factory().url


JSON_HEADERS = {**AUTH, "Content-Type": "application/json"}

RAW_BODIES = [
    (b'{"conversation_id": ', "invalid_json"),
    (b"not json at all", "invalid_json"),
    (b"{'conversation_id': 'x'}", "invalid_json"),
    (b"\xff\xfe\x00garbage", "invalid_json"),
    (b'{"priority": NaN}', "invalid_json"),
    (b'{"slots": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "invalid_json"),
    (b"[1, 2]", "invalid_body"),
    (b'"a string"', "invalid_body"),
    (b"", "missing_field"),
    (b"{}", "missing_field"),
]


@pytest.mark.parametrize(("data", "code"), RAW_BODIES)
def test_malformed_bodies(desk, data, code):
    response = api(desk, "POST", "/api/handoffs", data=data, headers=JSON_HEADERS)
    assert_error(response, 400, code)


REQUIRED = ["conversation_id", "channel", "rule", "queue", "priority", "transcript",
            "office_hours"]


@pytest.mark.parametrize("field", REQUIRED)
def test_missing_required_field(desk, field):
    body = packet()
    del body[field]
    error = assert_error(api(desk, "POST", "/api/handoffs", body), 400, "missing_field")
    assert field in error["message"]


def _with(path: str, value: object) -> dict:
    """A valid packet with one (possibly nested) field replaced."""
    body = packet()
    target = body
    keys: list = [int(k) if k.isdigit() else k for k in path.split(".")]
    *parents, last = keys
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return body


INVALID = [
    ("conversation_id", 42, "invalid_type"),
    ("conversation_id", "   ", "invalid_value"),
    ("conversation_id", "x" * 300, "invalid_value"),
    ("channel", ["rest"], "invalid_type"),
    ("rule", "keyword", "invalid_type"),
    ("rule.id", KeyError, "missing_field"),
    ("rule.reason", None, "missing_field"),
    ("queue", 1, "invalid_type"),
    ("priority", "1", "invalid_type"),
    ("priority", 1.5, "invalid_type"),
    ("priority", True, "invalid_type"),
    ("priority", 0, "invalid_value"),
    ("priority", 6, "invalid_value"),
    ("customer", "王伟", "invalid_type"),
    ("customer.id", 1001, "invalid_type"),
    ("transcript", {"role": "customer"}, "invalid_type"),
    ("transcript.0", "转人工", "invalid_type"),
    ("transcript.0.role", "robot", "invalid_value"),
    ("transcript.0.text", None, "missing_field"),
    ("transcript.0.text", 123, "invalid_type"),
    ("transcript.0.time", "2024-01-01", "invalid_type"),
    ("transcript.0.time", KeyError, "missing_field"),
    ("transcript.0.intent", 5, "invalid_type"),
    ("transcript.0.emotion", "angry", "invalid_type"),
    ("transcript.0.emotion.intensity", 1.5, "invalid_value"),
    ("slots", [], "invalid_type"),
    ("orders", {"id": "1"}, "invalid_type"),
    ("orders", ["361204587712340001"], "invalid_type"),
    ("todos", "需跟进", "invalid_type"),
    ("todos", [["需跟进"]], "invalid_type"),
    ("emotion", [], "invalid_type"),
    ("emotion.history", [{"label": "calm", "intensity": 0.1}], "missing_field"),
    ("emotion.turning_point", "yes", "invalid_type"),
    ("office_hours", "yes", "invalid_type"),
    ("office_hours", 1, "invalid_type"),
    ("callback_at", "tomorrow 9am", "invalid_value"),
    ("callback_at", 1700000000, "invalid_type"),
]


@pytest.mark.parametrize(("path", "value", "code"), INVALID)
def test_invalid_fields_name_the_field(desk, path, value, code):
    body = _with(path, value)
    error = assert_error(api(desk, "POST", "/api/handoffs", body), 400, code)
    # The message points at the field, with list indexes as written in the packet.
    shown = path.replace(".0", "[0]")
    assert shown in error["message"], error


def test_unknown_queue_names_the_known_ones(desk):
    error = assert_error(api(desk, "POST", "/api/handoffs", packet(queue="vip")), 400,
                         "unknown_queue")
    for name in ("vip", "general", "senior", "key_account", "finance"):
        assert name in error["message"]


def test_too_large_body_is_413(desk):
    body = packet(transcript=[{"role": "customer", "text": "x" * 9000,
                               "time": 1700000000.0 + i}
                              for i in range(130)])  # ~1.2 MB, otherwise valid
    data = json.dumps(body).encode()
    assert len(data) > 1024 * 1024
    assert_error(api(desk, "POST", "/api/handoffs", data=data, headers=JSON_HEADERS), 413,
                 "payload_too_large")
    # Just under the limit is fine: packets carry whole transcripts.
    body["transcript"] = body["transcript"][:100]
    assert len(json.dumps(body).encode()) < 1024 * 1024
    assert api(desk, "POST", "/api/handoffs", body).status_code == 201
    assert get(desk, "/health") == {"status": "ok"}


BAD_PATHS = [
    ("GET", "/api/handoffs/99999999", 404, "handoff_not_found"),
    ("GET", "/api/handoffs/99999999999999999999", 404, "handoff_not_found"),
    ("POST", "/api/handoffs/99999999999999999999/claim", 404, "handoff_not_found"),
    ("GET", "/api/handoffs/-1", 404, "handoff_not_found"),
    ("GET", "/api/handoffs/abc", 404, "not_found"),
    ("GET", "/api/nope", 404, "not_found"),
    ("DELETE", "/api/handoffs", 405, "method_not_allowed"),
    ("GET", "/api/handoffs/1/claim", 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), BAD_PATHS)
def test_bad_paths(desk, method, path, status, code):
    body = {"agent": "小李"} if method == "POST" else None
    assert_error(api(desk, method, path, body), status, code)


def test_rejected_packets_store_nothing(desk):
    body = packet(priority=9)
    assert_error(api(desk, "POST", "/api/handoffs", body), 400, "invalid_value")
    listed = get(desk, "/api/handoffs?status=waiting,callback,active,resolved&limit=500")
    assert body["conversation_id"] not in {h["conversation_id"] for h in listed["handoffs"]}


EXACT = [
    # As the OpenAPI file says: lengths as sent, enumerations exactly, real timestamps.
    ("conversation_id", " " * 250 + "x" * 10, "invalid_value"),
    ("queue", " general", "unknown_queue"),
    ("transcript.0.role", "customer ", "invalid_value"),
    ("emotion.history", [None], "invalid_type"),
    ("callback_at", "2030-02-30T09:00:00+08:00", "invalid_value"),
    ("callback_at", "2030-01-02", "invalid_value"),
    ("callback_at", " 2030-01-02T09:00:00Z", "invalid_value"),
    ("rule.id", "\ufeff", "invalid_value"),
]


@pytest.mark.parametrize(("path", "value", "code"), EXACT)
def test_packets_are_read_as_the_schema_says(desk, path, value, code):
    assert_error(api(desk, "POST", "/api/handoffs", _with(path, value)), 400, code)


def test_optional_parts_of_a_packet_may_be_null(desk):
    body = packet(customer=None, slots=None, orders=None, todos=None, emotion=None,
                  callback_at=None, verified_order=None)
    assert api(desk, "POST", "/api/handoffs", body).status_code == 201
    body = packet(emotion={"history": None, "turning_point": None},
                  callback_at="2030-01-02T09:00:00.25Z", todos=["需跟进补发单号"])
    assert api(desk, "POST", "/api/handoffs", body).status_code == 201


@pytest.mark.parametrize("query", [
    "view=", "view=mine,all", "status=", "status=waiting,", "status=waiting, active",
    "queue=general,", "limit=", "limit=+5", "limit=%205", "limit=5_0", "limit=" + "9" * 5000,
    "color=red", "color=",
])
def test_query_values_are_read_as_the_schema_says(desk, query):
    assert_error(api(desk, "GET", f"/api/handoffs?{query}"), 400, "invalid_query")


def test_channel_events_as_the_schema_says(desk):
    def event(**fields):
        return api(desk, "POST", "/api/channel-events",
                   {"conversation_id": "nobody", "kind": "customer_message", **fields})

    assert event(text="在吗").json() == {"accepted": False, "reason": "no_open_handoff"}
    assert event(text=None, attachments=[{"type": "image"}], time=None).status_code == 200
    assert event(text="在吗", time="2030-01-02T09:00:00+08:00").status_code == 200
    assert_error(event(text=" \u3000"), 400, "missing_field")
    assert_error(event(text="在吗", time=946684799), 400, "invalid_value")
    assert_error(event(text="在吗", time="2030-01-02"), 400, "invalid_value")
    assert_error(event(kind="customer_typing "), 400, "invalid_value")


@pytest.mark.parametrize(("path", "body", "code"), [
    ("/api/handoffs/1/transfer", {}, "missing_field"),
    ("/api/handoffs/1/transfer", {"to_queue": None, "to_agent": None}, "missing_field"),
    ("/api/handoffs/1/transfer", {"to_queue": " general"}, "unknown_queue"),
    ("/api/handoffs/1/messages", {"text": "您好", "image": " /a.png"}, "invalid_value"),
    ("/api/handoffs/1/messages", {"text": " \ufeff"}, "invalid_value"),
    ("/api/handoffs/1/todos", {"key": "\x85", "done": True}, "invalid_value"),
])
def test_handoff_requests_as_the_schema_says(desk, path, body, code):
    assert_error(api(desk, "POST", path, body), 400, code)
