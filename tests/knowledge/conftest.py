"""Fixtures for the knowledge tests: the real tokenizer and the shipped sample documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import KnowledgeIndex, ingest
from knowledge.config import DEFAULT_DOCS
from knowledge.tokens import Tokenizer, shared_tokenizer


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return shared_tokenizer()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory, tokenizer: Tokenizer) -> Path:
    """knowledge/docs ingested once into a database of the test session."""
    db = tmp_path_factory.mktemp("knowledge") / "knowledge.sqlite"
    report = ingest([DEFAULT_DOCS], db, tokenizer)
    assert report.problems == [] and report.added >= 7
    return db


@pytest.fixture(scope="session")
def sample_index(sample_db: Path, tokenizer: Tokenizer) -> KnowledgeIndex:
    return KnowledgeIndex.open(sample_db, tokenizer)


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A private copy of the sample documents to edit."""
    target = tmp_path / "docs"
    shutil.copytree(DEFAULT_DOCS, target)
    return target
