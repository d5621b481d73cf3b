"""One action-server request is one turn (actions/turn.py): it reads an order from the shop
once, and its POSTs carry the turn's idempotency key. A real action server, shop and desk
(no Rasa: the calls are the ones Rasa sends); the shop's access log counts the requests."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import turn_reads  # noqa: E402
from action_helpers import delivered  # noqa: E402
from stack import Stack  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    running = Stack.isolated(tmp_path_factory.mktemp("turns"))
    running.start(services=("shop", "actions", "desk"), timeout=180)
    yield running
    running.stop()


def order_reads(counts: Dict[str, int], order_id: str) -> tuple:
    return (counts.get(f"GET /api/orders/{order_id}", 0),
            counts.get(f"GET /api/orders/{order_id}/tracking", 0))


def test_validating_the_form_reads_the_order_once(stack: Stack) -> None:
    # rasa_sdk asks the form for its required slots three times per validation; each pass
    # read the order from the shop (3 reads before the turn cache).
    counts = turn_reads.measure(stack, "confirm cancel (validate_order_form)", uuid.uuid4().hex)
    assert order_reads(counts, turn_reads.PAID) == (1, 0)


@pytest.mark.parametrize("scenario", [
    "upset customer tracks a late parcel (action_order_task)",
    "upset customer asks for a human (action_escalate)",
])
def test_an_upset_customers_turn_reads_order_and_tracking_once(stack: Stack,
                                                                scenario: str) -> None:
    # The task (or the handoff packet) and the delay playbook read both (2 + 2 before).
    counts = turn_reads.measure(stack, scenario, uuid.uuid4().hex)
    assert order_reads(counts, turn_reads.DELAYED) == (1, 1)


def test_nothing_is_cached_across_turns(stack: Stack) -> None:
    name = "confirm cancel (validate_order_form)"
    turn = uuid.uuid4().hex
    for _ in range(2):  # the same turn again (a new request), then the next turn
        assert order_reads(turn_reads.measure(stack, name, turn), turn_reads.PAID) == (1, 0)
    assert order_reads(turn_reads.measure(stack, name, uuid.uuid4().hex),
                       turn_reads.PAID) == (1, 0)


def urge_call(stack: Stack, turn: str) -> Dict[str, Any]:
    shop, admin = stack.shop_url, stack.env["SHOP_ADMIN_KEY"]
    slots = {"order_id": turn_reads.PAID, "order_task": "urge",
             "verified_order_id": turn_reads.admin_proof(shop, admin, turn_reads.PAID)}
    events = [{"event": "session_started"}, turn_reads.user("催一下发货", f"{turn}-1")]
    return turn_reads.action_call("action_order_task", "urge-conversation", slots, events)


def reply_text(result: Dict[str, Any]) -> str:
    """The texts as Rasa renders them (the domain's responses through the brand NLG)."""
    return " ".join(r.get("text") or "" for r in delivered(result.get("responses", []), {}))


def test_a_repeated_turn_gets_the_first_answer_to_its_post(stack: Stack) -> None:
    actions = f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}"
    token = stack.env["ACTIONS_TOKEN"]
    first_turn = urge_call(stack, uuid.uuid4().hex)
    first = reply_text(turn_reads.run_turn(actions, token, first_turn))
    assert "已帮您催促仓库优先发货" in first
    log = stack.log_dir / "shop.log"
    start = log.stat().st_size
    # Rasa running the same action for the same message again: the shop answers the urge
    # with the first result (same follow-up, not "already urged") and records nothing new.
    again = reply_text(turn_reads.run_turn(actions, token, first_turn))
    assert again == first
    assert turn_reads.shop_requests(log, start)[
        f"POST /api/orders/{turn_reads.PAID}/urge"] == 1
    text = log.read_bytes()[start:].decode("utf-8", "replace")
    assert f"POST /api/orders/{turn_reads.PAID}/urge 201" in text
    # The customer's next message is a new turn: a new key, and the shop's own rule for a
    # second urge applies.
    later = reply_text(turn_reads.run_turn(actions, token, urge_call(stack, uuid.uuid4().hex)))
    assert "已经在加急处理中" in later
