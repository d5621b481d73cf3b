"""Fixtures for the brand tests."""

from __future__ import annotations

from typing import Iterator

import pytest

from brand.tone import get_tone


@pytest.fixture
def fresh_tone() -> Iterator[None]:
    """The process-wide tone is re-read from the environment, and reset afterwards."""
    get_tone.cache_clear()
    yield
    get_tone.cache_clear()
