"""Rasa's action calls read without parsing the same domain again (actions/calls.py): the
same call as a full parse, whatever the body; and the shared domain is only read by the form
validations. The domain is the real one as Rasa sends it (Domain.as_dict of domain.yml), the
bodies as Rasa's HTTP client writes them (json.dumps), the form validations run against a
real demo shop, and the action server over HTTP."""

from __future__ import annotations

import asyncio
import copy
import json
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from rasa_sdk.executor import ActionExecutor

import actions.backend as backend_module
from actions import turn
from actions.calls import ActionCalls

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import turn_reads  # noqa: E402
from stack import Stack  # noqa: E402


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml")).as_dict()


def rasa_body(call: Dict[str, Any], domain: Dict[str, Any]) -> bytes:
    """The body Rasa's RemoteAction posts: its members in Rasa's order, the domain last."""
    ordered = {key: call[key] for key in ("next_action", "sender_id", "tracker", "version")}
    return json.dumps({**ordered, "domain": domain}).encode("utf-8")


def tracker(sender: str, text: str) -> Dict[str, Any]:
    events = [{"event": "session_started"}, turn_reads.user(text, f"{sender}-1")]
    return turn_reads.action_call("validate_order_form", sender, {}, events,
                                  loop="order_form", requested_slot="order_id")["tracker"]


def call(sender: str, text: str, domain: Dict[str, Any]) -> bytes:
    return rasa_body({"next_action": "validate_order_form", "sender_id": sender,
                      "tracker": tracker(sender, text), "version": "3.6.21"}, domain)


def test_the_same_call_as_a_full_parse(domain):
    calls = ActionCalls()
    texts = ["订单号是361204587712340001", '我的订单 , "domain": {} }', "}", '\\", "domain": ',
             "emoji 😀 and \u2028 separators"]
    first = call("c-0", "你好", domain)
    assert calls.read(first) == json.loads(first)
    remembered = calls.read(first)["domain"]
    for index, text in enumerate(texts):
        body = call(f"c-{index}", text, domain)
        read = calls.read(body)
        assert read == json.loads(body)
        assert read["domain"] is remembered  # not parsed again
    # Another model's domain: parsed, and remembered from then on.
    changed = {**domain, "intents": [*domain["intents"], "new_intent"]}
    body = call("c-new", "你好", changed)
    assert calls.read(body) == json.loads(body)
    assert calls.read(call("c-new2", "你好", changed))["domain"] is calls.read(body)["domain"]


def test_other_bodies_are_parsed_in_full(domain):
    calls = ActionCalls()
    known = call("k", "你好", domain)
    calls.read(known)
    text = known[known.rfind(b', "domain": ') + len(b', "domain": '):]  # the domain and "}"
    # The domain not last, nested, or after nothing; whitespace after the body; no object.
    for body in (json.dumps({"domain": domain, "next_action": "x"}).encode(),
                 b'{"a": 1, "b": {"c": 2, "domain": ' + text + b"}",
                 b'{"a": [1, "domain": ' + text,
                 known + b"\n", b"[1, 2]", b'"text"', b"null"):
        try:
            expected = json.loads(body)
        except ValueError:
            with pytest.raises(ValueError):
                calls.read(body)
            continue
        assert calls.read(body) == expected
    # Not JSON although it ends with the known domain: refused, as a full parse refuses it.
    for body in (b'{, "domain": ' + text, b'{"a": "b, "domain": ' + text, text):
        with pytest.raises(ValueError):
            json.loads(body)
        with pytest.raises(ValueError):
            calls.read(body)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    running = Stack.isolated(tmp_path_factory.mktemp("calls"))
    running.start(services=("shop", "actions"), timeout=180)
    yield running
    running.stop()


def post(stack: Stack, body: bytes) -> tuple:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}/webhook", data=body, method="POST",
        headers={"Content-Type": "application/json",
                 "X-Actions-Token": stack.env["ACTIONS_TOKEN"]})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_form_validations_only_read_the_shared_domain(stack, domain, monkeypatch):
    """The form validations (rasa_sdk, actions/forms.py, actions/sizing.py) on calls read with
    a remembered domain, against a real shop: the domain is unchanged afterwards."""
    monkeypatch.setenv("SHOP_API_URL", stack.shop_url)
    monkeypatch.setenv("SHOP_API_KEY", stack.env["SHOP_API_KEY"])
    proof = turn_reads.admin_proof(stack.shop_url, stack.env["SHOP_ADMIN_KEY"], turn_reads.PAID)
    bodies = [call("v-1", "我的订单361204587712340001", domain),
              rasa_body(turn_reads.confirm_cancel(stack.shop_url, stack.env["SHOP_ADMIN_KEY"],
                                                  "v-2"), domain),
              rasa_body(turn_reads.action_call(
                  "validate_size_form", "v-3", {"height_cm": 175.0, "weight_kg": 70.0},
                  [{"event": "session_started"}, turn_reads.user("身高175 体重140斤", "v-3-1")],
                  loop="size_form", requested_slot="size_product"), domain),
              rasa_body(turn_reads.action_call(
                  "validate_order_form", "v-4",
                  {"order_id": turn_reads.PAID, "verified_order_id": proof,
                   "order_task": "address"},
                  [{"event": "session_started"}, turn_reads.user("改地址", "v-4-1")],
                  loop="order_form", requested_slot="new_address"), domain)]
    calls = ActionCalls()
    calls.read(bodies[0])
    shared = calls.read(bodies[0])["domain"]
    untouched = copy.deepcopy(shared)

    async def run_all() -> list:
        executor = ActionExecutor()
        executor.register_package("actions")
        results = []
        try:
            for body in bodies:
                action_call = calls.read(body)
                assert action_call["domain"] is shared
                with turn.running(turn.from_action_call(action_call)):
                    results.append(await executor.run(action_call))
        finally:
            await backend_module.get_backend().close()
            backend_module._backend = None
        return results

    backend_module._backend = None
    results = asyncio.run(run_all())
    assert all(result and result.get("events") for result in results), results
    assert shared == untouched == domain


def test_the_action_server_answers_as_before(stack, domain):
    """Over HTTP: a call first seen and the same call again (its domain remembered) get the
    same answer; a body that is no JSON is still a 400."""
    sender = f"http-{uuid.uuid4().hex[:8]}"
    body = call(sender, "订单号是361204587712340001", domain)
    first = post(stack, body)
    assert first[0] == 200 and first[1]["events"]
    assert post(stack, body) == first
    assert post(stack, call(sender, "订单号是361204587712340001", domain)) == first
    text = body[body.rfind(b', "domain": ') + len(b', "domain": '):]
    assert post(stack, b'{, "domain": ' + text) == (400, {"error": "bad request"})
