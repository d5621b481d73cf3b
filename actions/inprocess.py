"""The actions inside the Rasa process: `ACTION_ENDPOINT_URL=python:actions.inprocess`.

A single-machine deployment runs Rasa and the action server on the same cores, and every
custom action call (the form validations: most customer messages) went through HTTP: Rasa
wrote the tracker as JSON, the action server parsed it in another process and answered the
same way. With this endpoint Rasa calls `run` below in its own event loop instead
(channels/actions_endpoint.py); nothing listens on a port, so there is no token to guard.

Per call it does what actions/server.py does:
- the turn (actions/turn.py): the shop's reads cached for this call, idempotency keys;
- the call's tracker is a copy, as a JSON round trip would give (an action may change what
  it reads without changing Rasa's tracker), and so is the answer; the domain is Rasa's
  own object, shared by the calls as the action server shares its parsed copy (read only);
- errors are answered as the server answers them (400 a rejected form slot, 404 an unknown
  action, 500 anything else, logged with the masked log), so Rasa's side handles them the
  same way (security/rasa_hooks.py: an honest answer and a ticket).
The cluster keeps the action servers behind nginx (scripts/cluster.py): there they scale on
their own.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

import ujson
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from actions import turn

logger = logging.getLogger(__name__)

_executor: Optional[ActionExecutor] = None


def executor() -> ActionExecutor:
    """Every action of the `actions` package, registered once per process; the assistant's
    database is migrated then, as the action server does at its start."""
    global _executor
    if _executor is None:
        from actions import playbook

        found = ActionExecutor()
        found.register_package("actions")
        playbook.ledger()
        _executor = found
    return _executor


def _copy(value: Any) -> Any:
    return ujson.loads(ujson.dumps(value))


async def run(call: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
    """(status, body) as the action server would answer `call`."""
    copied = _copy({key: value for key, value in call.items() if key != "domain"})
    if "domain" in call:
        copied["domain"] = call["domain"]
    with turn.running(turn.from_action_call(copied)):
        try:
            result = await executor().run(copied)
        except ActionExecutionRejection as error:
            logger.debug(error)
            return 400, {"error": error.message, "action_name": error.action_name}
        except ActionNotFoundException as error:
            logger.error(error)
            return 404, {"error": error.message, "action_name": error.action_name}
        except Exception:  # noqa: BLE001 - answered as the server's generic 500
            logger.error("action %s failed", call.get("next_action"), exc_info=True)
            return 500, {"error": "internal error"}
    return 200, _copy(result or {})
