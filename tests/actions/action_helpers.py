"""Build trackers and run actions in-process (no mocks: the backend is real)."""

from __future__ import annotations

import asyncio
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, Tuple

import requests
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.backend as backend_module

# The real domain: validation compares its own required slots with the domain's.
DOMAIN: Dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))
SLOT_DEFAULTS = {
    "order_id": None, "phone_tail": None, "order_task": None, "new_address": None,
    "confirmed": None, "verified_order_id": None, "failed_attempts": 0.0,
    "customer_id": None, "customer_name": None, "product": None,
}


# The demo customers' conversations are verified ones: the channel checked a signed identity
# and put it on each message (channels.rest); a bare sender id links nobody.
DEMO_IDENTITIES = {"demo-wang": "C0001", "demo-li": "C0002", "demo-zhao": "C0061"}


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    sender: str = "guest-test",
    set_now: Optional[Dict[str, Any]] = None,
    latest_message: Optional[Dict[str, Any]] = None,
    requested_slot: Optional[str] = None,
    loop: str = "order_form",
    identity: Optional[str] = None,
) -> Tracker:
    """`set_now` are the slots extracted from the latest message (what validation sees)."""
    values = {**SLOT_DEFAULTS, **(slots or {}), **(set_now or {}), "requested_slot": requested_slot}
    identity = identity or DEMO_IDENTITIES.get(sender)
    metadata = {"identity": {"customer_id": identity, "verified": True}} if identity else {}
    if metadata:
        values.setdefault("session_started_metadata", metadata)
    if re.fullmatch(r"\d{18}", str(values.get("verified_order_id") or "")):
        # The slot holds the shop's proof (actions/ownership.py); a test that says "this order
        # was verified" gets a real one, minted by the back office.
        values["verified_order_id"] = admin_proof(values["verified_order_id"])
    events = [{"event": "user", "text": "x", "metadata": metadata}] + [
        {"event": "slot", "name": name, "value": value} for name, value in (set_now or {}).items()
    ]
    # The customer's message is what the extracted values were taken from.
    typed = " ".join(str(value) for value in (set_now or {}).values()) or "x"
    return Tracker(sender, values, latest_message or {"intent": {}, "entities": [], "text": typed},
                   events, False, None, {"name": loop}, "action_listen")


def admin_proof(order_id: str) -> str:
    """A real ownership proof from the test shop (SHOP_API_URL), via the admin key."""
    response = requests.post(f"{os.environ['SHOP_API_URL']}/api/admin/orders/{order_id}/proof",
                             headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}, timeout=10)
    response.raise_for_status()
    return response.json()["proof"]


def with_backend(work: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine function with a fresh backend of whatever the environment
    configures, closed afterwards."""

    async def go():
        backend_module._backend = None
        try:
            return await work()
        finally:
            await backend_module.get_backend().close()
            backend_module._backend = None

    return asyncio.run(go())


def run_directly(action: Action, tracker: Tracker) -> Tuple[List[dict], List[dict]]:
    """Run an action with whatever backend the environment configures."""
    dispatcher = CollectingDispatcher()
    events = with_backend(lambda: action.run(dispatcher, tracker, DOMAIN))
    return delivered(dispatcher.messages, tracker.slots), events


_domain: List[Any] = []


def delivered(messages: List[dict], slots: Dict[str, Any]) -> List[dict]:
    """The action's messages as Rasa sends them: Rasa's own RemoteAction._utter_responses
    renders each `response` with the project's NLG (brand.nlg.BrandNLG) from the real
    domain, with the action's own buttons after the response's; each bot event as a dict
    (its text, data and metadata, e.g. `utter_action` and `compliance`)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    from brand.nlg import BrandNLG

    if not _domain:
        root = Path(__file__).resolve().parents[2]
        # The trained model's domain: domain.yml plus the FAQ responses of the NLU data.
        faq = yaml.safe_load((root / "data/nlu/faq.yml").read_text(encoding="utf-8"))
        _domain.append(Domain.load(str(root / "domain.yml")).merge(
            Domain.from_dict({"responses": faq["responses"]})))
    domain = _domain[0]
    tracker = DialogueStateTracker.from_events(
        "delivered", [SlotSet(name, value) for name, value in slots.items()
                      if any(slot.name == name for slot in domain.slots)],
        slots=domain.slots)
    # Rasa gets the messages as JSON from the action server: a copy, as Rasa would have.
    responses = json.loads(json.dumps(messages))
    utter = RemoteAction._utter_responses(responses, CollectingOutputChannel(),
                                          BrandNLG(domain=domain), tracker)
    # Its own event loop in a thread: callers may be inside a running loop already.
    with ThreadPoolExecutor(max_workers=1) as pool:
        events = pool.submit(asyncio.run, utter).result()
    return [{"text": event.text, **{key: value for key, value in event.data.items() if value},
             **event.metadata} for event in events]


def texts(messages: List[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


@asynccontextmanager
async def backend_behind(handle: Callable[[Any], Awaitable[Any]], retries: int
                         ) -> AsyncIterator[Any]:
    """The shop client pointed at a local aiohttp server whose every request goes to
    `handle` (a proxy in front of the test shop that counts, breaks or loses answers)."""
    from http_helpers import local_server

    from actions.backend.http import HttpShopBackend

    async with local_server(handle) as url:
        backend = HttpShopBackend(url, api_key=os.environ["SHOP_API_KEY"], retries=retries)
        try:
            yield backend
        finally:
            await backend.close()
