"""Shop backend access behind a small interface.

`SHOP_BACKEND` selects the implementation: `http` (default: the demo shop or any
service speaking its OpenAPI contract at `SHOP_API_URL`) or `package.module:Class`
for another system (Shopify, Taobao open platform, an ERP) implementing `ShopBackend`.
"""

from __future__ import annotations

import importlib
from typing import Optional

from actions.backend.base import (
    BackendError,
    BackendUnavailable,
    Conflict,
    InvalidRequest,
    NotFound,
    OwnershipRequired,
    ShopBackend,
    VerificationLocked,
)
from service_common.settings import env_setting

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "Conflict",
    "InvalidRequest",
    "NotFound",
    "OwnershipRequired",
    "ShopBackend",
    "VerificationLocked",
    "get_backend",
]

_backend: Optional[ShopBackend] = None


def get_backend() -> ShopBackend:
    """Return the process-wide backend (connection pools are reused across actions)."""
    global _backend
    if _backend is None:
        choice = env_setting("SHOP_BACKEND")
        if choice == "http":
            from actions.backend.http import HttpShopBackend

            _backend = HttpShopBackend.from_env()
        else:
            module_name, _, class_name = choice.partition(":")
            backend_class = getattr(importlib.import_module(module_name), class_name)
            _backend = backend_class.from_env()
    return _backend
