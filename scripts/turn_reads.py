"""Shop requests per action-server turn: how often one turn asks the shop for the same order.

    .venv/bin/python scripts/turn_reads.py

Starts an isolated shop, action server and desk (no Rasa), sends the action server the
calls Rasa sends for a few turns (tests/actions/test_turn_cache.py sends the same ones),
and counts, from the shop's access log, the requests each turn made. Prints one line per
turn and request path.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

PAID = "361204587712340002"  # 王伟 (C0001): paid, may still be cancelled
DELAYED = "361204587712340011"  # 李娜 (C0002): shipped, the parcel is late
ORDER_ID = re.compile(r"/\d{18}")
ACCESS = re.compile(r" (GET|POST|PATCH|PUT|DELETE) (/api/\S+) (\d{3}) ")
DOMAIN: Dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def admin_proof(shop_url: str, admin_key: str, order_id: str) -> str:
    """A real ownership proof, minted by the shop's back office."""
    request = urllib.request.Request(f"{shop_url}/api/admin/orders/{order_id}/proof",
                                     method="POST", headers={"X-Api-Key": admin_key})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())["proof"]


def action_call(action: str, sender: str, slots: Dict[str, Any], events: List[Dict[str, Any]],
                loop: Optional[str] = None, requested_slot: Optional[str] = None,
                latest: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """What Rasa POSTs to the action server's /webhook for one action."""
    users = [event for event in events if event.get("event") == "user"]
    latest = latest or {"intent": {"name": "inform"}, "entities": [],
                        "text": users[-1]["text"] if users else "",
                        "message_id": users[-1].get("message_id") if users else None}
    return {
        "next_action": action, "sender_id": sender, "version": "3.6.2", "domain": DOMAIN,
        "tracker": {
            "sender_id": sender, "slots": {**slots, "requested_slot": requested_slot},
            "latest_message": latest, "events": events, "paused": False,
            "followup_action": None, "active_loop": {"name": loop} if loop else {},
            "latest_action_name": "action_listen",
        },
    }


def user(text: str, message_id: str, emotion: Optional[str] = None) -> Dict[str, Any]:
    parse = {"intent": {"name": "inform"}, "entities": [], "text": text,
             "message_id": message_id}
    if emotion:
        parse["emotion"] = {"label": emotion, "intensity": 0.9}
    return {"event": "user", "text": text, "timestamp": time.time(), "message_id": message_id,
            "parse_data": parse, "metadata": {}}


def confirm_cancel(shop_url: str, admin_key: str, turn: str) -> Dict[str, Any]:
    """The customer confirms cancelling a verified, paid order: the form validates the
    answer (its required slots depend on the order, read on each of rasa_sdk's passes)."""
    slots = {"order_id": PAID, "verified_order_id": admin_proof(shop_url, admin_key, PAID),
             "order_task": "cancel"}
    events = [{"event": "session_started"}, user("我要取消订单", f"{turn}-1"),
              user("是的,取消吧", f"{turn}-2")]
    latest = {"intent": {"name": "affirm"}, "entities": [], "text": "是的,取消吧",
              "message_id": f"{turn}-2"}
    return action_call("validate_order_form", f"cancel-{turn}", slots, events,
                       loop="order_form", requested_slot="confirmed", latest=latest)


def upset_tracking(shop_url: str, admin_key: str, turn: str,
                   action: str = "action_order_task") -> Dict[str, Any]:
    """An angry customer asks where a late parcel is (the task, then the delay playbook)."""
    slots = {"order_id": DELAYED, "verified_order_id": admin_proof(shop_url, admin_key, DELAYED),
             "order_task": "track"}
    events = [{"event": "session_started"}, user("快递到底怎么回事!!!", f"{turn}-1", "angry"),
              user(DELAYED, f"{turn}-2")]
    return action_call(action, f"upset-{turn}", slots, events)


def upset_escalation(shop_url: str, admin_key: str, turn: str) -> Dict[str, Any]:
    """The same customer then asks for a human: the playbook and the handoff packet."""
    return upset_tracking(shop_url, admin_key, turn, action="action_escalate")


SCENARIOS: Dict[str, Callable[[str, str, str], Dict[str, Any]]] = {
    "confirm cancel (validate_order_form)": confirm_cancel,
    "upset customer tracks a late parcel (action_order_task)": upset_tracking,
    "upset customer asks for a human (action_escalate)": upset_escalation,
}


def shop_requests(log: Path, start: int) -> Counter:
    """Requests in the shop's access log after byte `start`, by "METHOD path"."""
    with open(log, "rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", "replace")
    return Counter(f"{m.group(1)} {m.group(2)}" for m in ACCESS.finditer(text))


def run_turn(actions_url: str, token: str, call: Dict[str, Any]) -> Dict[str, Any]:
    request = urllib.request.Request(
        f"{actions_url}/webhook", data=json.dumps(call).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "X-Actions-Token": token})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def measure(stack: Any, name: str, turn: str) -> Counter:
    """The shop requests of one turn of scenario `name` (the proof minting excluded)."""
    call = SCENARIOS[name](stack.shop_url, stack.env["SHOP_ADMIN_KEY"], turn)
    log = stack.log_dir / "shop.log"
    start = log.stat().st_size
    # The shop logs a request before it answers, so the log is complete once the
    # action server (which waited for every answer) has answered.
    run_turn(f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}", stack.env["ACTIONS_TOKEN"],
             call)
    return shop_requests(log, start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    from stack import Stack

    with tempfile.TemporaryDirectory() as folder:
        stack = Stack.isolated(Path(folder))
        stack.start(services=("shop", "actions", "desk"), timeout=180)
        try:
            for index, name in enumerate(SCENARIOS):
                counts = measure(stack, name, f"t{index}")
                print(f"{name}: {sum(counts.values())} shop requests")
                for target, count in sorted(counts.items()):
                    print(f"  {count} x {ORDER_ID.sub('/{order}', target)}")
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
