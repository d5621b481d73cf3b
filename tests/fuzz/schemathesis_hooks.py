"""Schemathesis hooks for tests/fuzz/test_schemathesis.py (loaded via SCHEMATHESIS_HOOKS).

Schemathesis 4.32's stateful phase follows inferred links with wildcard pointers
(`$response.body#/todos/*/order_id`) and may pick a JSON null out of the list: the link puts
`None` into a path or query parameter, the request goes out as `/api/orders/None`, and the
case still counts as schema-valid, so the service's correct 422 is reported as "schema-valid
request rejected". Such cases are dropped before they are sent (they are not requests the
schema allows); every check still runs on every other case.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    for container in (case.path_parameters, case.query):
        if container and any(value is None for value in container.values()):
            return False
    return True
