"""What a store of personal data implements, and the registry the command walks.

A package that keeps customer data of its own (analytics, a CRM adapter) registers a factory
once, e.g. in its own ``privacy.py``:

    from privacy.registry import register
    register("analytics", lambda env: AnalyticsPrivacy(env["ANALYTICS_DB_URL"]))

and names that module in ``PRIVACY_PLUGINS`` (comma-separated modules imported before a
request runs; ``analytics.privacy`` is tried by default). A factory returns None when its
store is not configured here.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol

logger = logging.getLogger(__name__)

DEFAULT_PLUGINS = ("analytics.privacy",)


@dataclass
class Subject:
    """Whose data: the shop's customer id, and every conversation (sender) id known to be
    theirs; stores add the conversations they find (e.g. the tracker store's verified ones)."""

    customer_id: str
    phone: Optional[str] = None
    conversations: List[str] = field(default_factory=list)

    def add_conversations(self, found: List[str]) -> None:
        for conversation in found:
            if conversation not in self.conversations:
                self.conversations.append(conversation)


class PersonalDataStore(Protocol):
    name: str

    def discover(self, subject: Subject) -> None:
        """Add the conversations this store links to the customer (may do nothing)."""

    def export(self, subject: Subject) -> Dict[str, Any]:
        """The customer's data here, JSON-serialisable."""

    def delete(self, subject: Subject) -> Dict[str, int]:
        """Delete it; the number of rows (or records) deleted, by kind."""


Factory = Callable[[Mapping[str, str]], Optional[PersonalDataStore]]
_factories: Dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Add (or replace) a store factory; the last registration of a name wins."""
    _factories[name] = factory


def registered() -> Dict[str, Factory]:
    return dict(_factories)


def load_plugins(env: Mapping[str, str]) -> List[str]:
    """Import the plugin modules (they call `register`); the ones that loaded."""
    names = [n.strip() for n in (env.get("PRIVACY_PLUGINS") or "").split(",") if n.strip()]
    loaded = []
    for module in (*DEFAULT_PLUGINS, *names):
        try:
            importlib.import_module(module)
            loaded.append(module)
        except ModuleNotFoundError as error:
            if module in names and error.name and module.startswith(error.name):
                raise  # a plugin named explicitly must exist
            logger.debug("privacy plugin %s not available: %s", module, error)
    return loaded


def build(env: Mapping[str, str]) -> List[PersonalDataStore]:
    stores = []
    for name, factory in _factories.items():
        store = factory(env)
        if store is not None:
            stores.append(store)
        else:
            logger.info("privacy store %s is not configured here", name)
    return stores
