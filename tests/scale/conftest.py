"""The fault tests' shared set-up (see test_cluster_faults.py)."""

from __future__ import annotations

import aiohttp

# As in tests/channels/conftest.py: python-engineio 4.15's asyncio client builds
# aiohttp.ClientWSTimeout (aiohttp >= 3.10); Rasa 3.6 pins aiohttp 3.9, whose ws_connect takes
# the close timeout as a float.
if not hasattr(aiohttp, "ClientWSTimeout"):
    aiohttp.ClientWSTimeout = lambda ws_close=None, ws_receive=None: ws_close  # type: ignore
