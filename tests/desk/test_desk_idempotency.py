"""Idempotency-Key on the desk: the bot's retried handoff opens or updates nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from desk_helpers import AUTH, TEST_TOKEN, api, get, packet

from actions import turn
from actions.desk import DeskClient


@pytest.fixture(scope="module")
def desk(desk_factory) -> str:
    return desk_factory().url


def hand_over(desk: str, sent: dict, in_turn: bool, message: str = "msg-1") -> Any:
    """Two POSTs of the same packet by the action server's desk client, as a retry of the
    same turn would send them (or, outside a turn, as two separate requests)."""

    async def go() -> Any:
        client = DeskClient(desk, TEST_TOKEN)
        current = turn.Turn(sent["conversation_id"], message, "action_escalate") \
            if in_turn else None
        try:
            with turn.running(current):
                return [await client.create_handoff(sent) for _ in range(2)]
        finally:
            await client.close()

    return asyncio.run(go())


def test_a_retried_handoff_of_the_same_turn_is_placed_once(desk) -> None:
    sent = packet()
    first, again = hand_over(desk, sent, in_turn=True)
    assert first == again and first["updated"] is False
    detail = get(desk, f"/api/handoffs/{first['id']}")
    assert detail["updates"] == 0 and len(detail["rules"]) == 1
    # The customer's next message is a new turn: it updates the open handoff as before.
    third, _ = hand_over(desk, sent, in_turn=True, message="msg-2")
    assert third["id"] == first["id"] and third["updated"] is True


def test_without_a_turn_the_second_post_updates_the_handoff(desk) -> None:
    first, again = hand_over(desk, packet(), in_turn=False)
    assert again["id"] == first["id"] and again["updated"] is True
    assert get(desk, f"/api/handoffs/{first['id']}")["updates"] == 1


def test_a_key_reused_for_another_packet_is_refused(desk) -> None:
    key = uuid.uuid4().hex
    headers = {**AUTH, "Idempotency-Key": key}
    assert api(desk, "POST", "/api/handoffs", packet(), headers=headers).status_code == 201
    reused = api(desk, "POST", "/api/handoffs", packet(), headers=headers)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
