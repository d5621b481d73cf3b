"""channels/actions_endpoint.py: Rasa's own RemoteAction, given an endpoint `python:<module>`,
runs the module's `run` and treats its answers as the action server's: events and responses
on 200, Rasa's rejection on 400, Rasa's error on any other failure; the honest fallback of
security/rasa_hooks.py then answers the customer as when the server fails. An http URL still
goes over HTTP (every end-to-end test)."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException

from channels import actions_endpoint
from security import rasa_hooks

MODULE = textwrap.dedent('''
    calls = []

    async def run(call):
        calls.append(call)
        action = call["next_action"]
        if action == "action_ok":
            return 200, {"events": [{"event": "slot", "name": "order_id", "value": "1"}],
                         "responses": [{"text": "好的"}]}
        if action == "action_reject":
            return 400, {"error": "not this one", "action_name": action}
        return 500, {"error": "internal error"}
''')


@pytest.fixture
def sample(tmp_path, monkeypatch):
    (tmp_path / "sample_actions.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    actions_endpoint.install()
    yield __import__("sample_actions")
    actions_endpoint._modules.clear()


def run(name: str, run_action=rasa_hooks._original_run) -> list:
    """Rasa's RemoteAction.run (`run_action`: without or with the honest fallback)."""
    domain = Domain.from_yaml("version: '3.1'\nslots:\n  order_id:\n    type: any\n"
                              "    mappings: []\n")
    tracker = DialogueStateTracker.from_events("endpoint-test", [
        ActionExecuted("action_listen"), UserUttered("你好")])
    action = RemoteAction(name, actions_endpoint.EndpointConfig("python:sample_actions"))

    async def running() -> list:
        events = await run_action(action, CollectingOutputChannel(),
                                  TemplatedNaturalLanguageGenerator(domain.responses),
                                  tracker, domain)
        await asyncio.sleep(0.2)  # the fallback's ticket is written in the background
        return events

    return asyncio.run(running())


def test_events_and_responses(sample):
    events = run("action_ok")
    assert [type(event) for event in events] == [BotUttered, SlotSet]
    assert events[0].text == "好的" and events[1].value == "1"
    # Rasa's call as it would post it.
    assert sample.calls[-1]["next_action"] == "action_ok"
    assert sample.calls[-1]["tracker"]["sender_id"] == "endpoint-test"


def test_a_rejection_and_a_failure(sample, tmp_path, monkeypatch):
    with pytest.raises(ActionExecutionRejection):
        run("action_reject")
    with pytest.raises(RasaException):
        run("action_broken")
    # With the server's guards: the honest answer, and a ticket (no desk here: DESK_URL=off).
    monkeypatch.setenv("DESK_URL", "off")
    monkeypatch.setenv("OFFLINE_TICKETS_FILE", str(tmp_path / "tickets.jsonl"))
    rasa_hooks._tickets.clear()
    events = run("action_broken", rasa_hooks._run_with_fallback)
    assert events[0].text == rasa_hooks.FALLBACK_TEXT
    assert events[0].metadata == {"fallback": "action_failed"}
    ticket = json.loads((tmp_path / "tickets.jsonl").read_text(encoding="utf-8"))
    assert ticket["conversation_id"] == "endpoint-test"
    assert ticket["rule"]["id"] == "action_failed"


def test_only_python_urls_stay_in_process():
    assert actions_endpoint.in_process("python:actions.inprocess")
    assert not actions_endpoint.in_process("http://127.0.0.1:5055/webhook")
    assert not actions_endpoint.in_process(None)
