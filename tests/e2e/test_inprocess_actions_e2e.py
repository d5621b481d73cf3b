"""The same end-to-end scenarios with the actions inside the Rasa process
(ACTION_ENDPOINT_URL=python:actions.inprocess, channels/actions_endpoint.py): no action
server runs, and every conversation gets the answers it gets with one."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest
from scenarios import identity_metadata, load_scenarios, play, post_message, reply_text
from stack import Stack, rules_with_office_days

SCENARIOS = load_scenarios()


@pytest.fixture(scope="module")
def inprocess(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inprocess")
    running = Stack.isolated(folder)
    running.env["ACTION_ENDPOINT_URL"] = "python:actions.inprocess"
    running.env["ESCALATION_RULES"] = str(rules_with_office_days(folder, all_days=True))
    running.start(timeout=float(os.environ.get("STACK_START_TIMEOUT", "600")))
    yield running
    running.stop()


def test_no_action_server_runs(inprocess):
    assert "actions" not in inprocess.processes
    assert set(inprocess.processes) == {"shop", "desk", "rasa"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(inprocess, scenario):
    assert play(inprocess.rasa_url, scenario,
                secret=inprocess.env["CHANNEL_IDENTITY_SECRET"]) == []


def test_a_change_reaches_the_shop_once(inprocess):
    """The urge is the shop's record, made once: the turn's idempotency key is there too."""
    wang = identity_metadata("C0001", inprocess.env["CHANNEL_IDENTITY_SECRET"])
    answer = reply_text(post_message(inprocess.rasa_url, "inprocess-wang",
                                     "帮我催一下361204587712340002", metadata=wang))
    assert "跟进单号" in answer
    request = urllib.request.Request(
        f"{inprocess.shop_url}/api/followups?order_id=361204587712340002",
        headers={"X-Api-Key": inprocess.env["SHOP_ADMIN_KEY"]})
    with urllib.request.urlopen(request, timeout=10) as response:
        followups = json.loads(response.read())
    followups = followups["followups"] if isinstance(followups, dict) else followups
    assert [f["type"] for f in followups].count("urge") == 1


def test_the_shop_down_gets_an_honest_answer(inprocess):
    inprocess.stop_service("shop")
    try:
        answer = reply_text(post_message(inprocess.rasa_url, "inprocess-down",
                                         "361204587712340001到哪了"))
        assert answer and "Traceback" not in answer
        assert "订单系统暂时有点忙" in answer or "稍后" in answer, answer
    finally:
        inprocess.start(services=("shop",))
