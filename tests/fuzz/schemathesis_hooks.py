"""Schemathesis hooks for tests/fuzz/test_schemathesis.py (loaded via SCHEMATHESIS_HOOKS).

Schemathesis 4.32's stateful phase follows inferred links with wildcard pointers
(`$response.body#/todos/*/order_id`) and may pick a JSON null out of the list: the link puts
`None` into a path or query parameter, the request goes out as `/api/orders/None`, and the
case still counts as schema-valid, so the service's correct 422 is reported as "schema-valid
request rejected". Such cases are dropped before they are sent (they are not requests the
schema allows); every check still runs on every other case. Idempotency keys: see
`before_call`.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    for container in (case.path_parameters, case.query):
        if container and any(value is None for value in container.values()):
            return False
    return True


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """Every schema-valid request that carries an Idempotency-Key gets a fresh, well-formed one.

    A generated key reused by a later case with another body is correctly refused (422
    `idempotency_key_reused`), which schemathesis would count as a schema-valid request
    rejected; and its Python regex lets `$` match before a trailing newline, so it sends
    keys the schema's ECMA pattern does not allow. Replays are tested with real keys in
    tests/shop/test_idempotency.py and tests/desk/test_desk_idempotency.py.
    """
    meta = case.meta
    positive = meta is None or meta.generation.mode.is_positive
    value = (case.headers or {}).get("Idempotency-Key")
    # Negative cases and "missing header" probes keep what they were generated with.
    if positive and isinstance(value, str) and value:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
