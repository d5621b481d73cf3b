"""The real texts the brand tone rewrites (domain responses, action strings), for the tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Tuple

import yaml

from compliance.lint import extract

ROOT = Path(__file__).resolve().parents[2]
TONES = ("热情", "专业", "清新")
# Independent of brand.tone's own regexes, so the tests do not agree with a bug.
EMOJI_CHAR = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B50\u2B55]")
NUMBERS = re.compile(r"[¥$]?\d[\d.:/*%-]*")
QUOTED = re.compile("「[^」]*」|【[^】]*】")


def _response_texts(path: Path) -> List[Tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for name, variants in (data.get("responses") or {}).items():
        for variant in variants:
            if variant.get("text"):
                found.append((name, variant["text"]))
            for button in variant.get("buttons") or []:
                found.append((f"{name}:button", button["title"]))
    return found


def domain_texts() -> List[Tuple[str, str]]:
    """(response name, text) of every response in domain.yml and data/ (FAQ answers)."""
    texts = _response_texts(ROOT / "domain.yml")
    for path in sorted((ROOT / "data").rglob("*.yml")):
        texts += _response_texts(path)
    assert len(texts) > 30, "the domain's responses were not found"
    return texts


def action_texts() -> List[Tuple[str, str]]:
    """(file:line, text) of every Chinese string the actions send (lint's own extraction)."""
    texts = []
    for path in sorted((ROOT / "actions").glob("*.py")):
        texts += [(f"{path.name}:{text.line}", text.value) for text in extract(path)]
    return texts
