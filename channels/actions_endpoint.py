"""`ACTION_ENDPOINT_URL=python:<module>`: Rasa runs the custom actions in its own process.

Rasa 3.6 only knows an action server over HTTP (`RemoteAction` posts every call through
`EndpointConfig.request`). For an endpoint whose URL is `python:<module>` the request is
handed to `<module>.run(call)`, an async function answering `(status, body)` as the action
server would (actions/inprocess.py); a status of 400 or more is raised as the HTTP client
raises it, so everything after it (rejected form slots, the honest answer when an action
fails, security/rasa_hooks.py) behaves as with the server. Any other URL goes over HTTP as
before. The module is named by the configuration, as Rasa names custom components, so the
channel layer does not import the actions.

Installed with the channel (channels/rest.py) and by scripts that load an agent themselves.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from typing import Any, Dict, Optional, Text

from rasa.utils.endpoints import ClientResponseError, EndpointConfig

SCHEME = "python:"
REASONS = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}

_http_request = EndpointConfig.request
_modules: Dict[str, Any] = {}


def in_process(url: Optional[str]) -> bool:
    return bool(url) and str(url).startswith(SCHEME)


def _module(url: str) -> Any:
    found = _modules.get(url)
    if found is None:
        found = _modules[url] = importlib.import_module(url[len(SCHEME):])
    return found


async def _request(self: EndpointConfig, method: Text = "post", subpath: Optional[Text] = None,
                   content_type: Optional[Text] = "application/json", compress: bool = False,
                   **kwargs: Any) -> Optional[Any]:
    if not in_process(self.url):
        return await _http_request(self, method, subpath, content_type, compress, **kwargs)
    answer = _module(self.url).run(kwargs.get("json"))
    timeout = getattr(kwargs.get("timeout"), "total", kwargs.get("timeout"))  # s or ClientTimeout
    status, body = await (asyncio.wait_for(answer, timeout) if timeout else answer)
    if status >= 400:
        raise ClientResponseError(status, REASONS.get(status, "Error"), json.dumps(body))
    return body


def install() -> None:
    """Idempotent."""
    EndpointConfig.request = _request
