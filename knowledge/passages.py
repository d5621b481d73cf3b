"""Cut parsed documents into passages: one focused answer each, with its title and source."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, List

from knowledge.documents import ParsedDocument

# A passage is what the bot says in one message: about the length of a chat bubble a
# customer reads without scrolling, and still room for a whole numbered list of steps.
MAX_CHARS = 300
TITLE_SEPARATOR = " > "
# Split after sentence-ending punctuation (full- or half-width), keeping it.
SENTENCE_END = re.compile(r"(?<=[。!?;!?;])")


@dataclass(frozen=True)
class Passage:
    title: str  # document title + heading path, e.g. "悦家 5L空气炸锅 > 清洁保养"
    source: str  # display path + "#heading", e.g. "knowledge/docs/x.html#清洁保养"
    text: str
    ordinal: int  # position in the document


def passages(document: ParsedDocument, display_path: str,
             max_chars: int = MAX_CHARS) -> List[Passage]:
    """Paragraphs of each section packed greedily into passages of at most max_chars."""
    found: List[Passage] = []
    for section in document.sections:
        title = TITLE_SEPARATOR.join((document.title, *section.headings))
        source = f"{display_path}#{section.headings[-1]}" if section.headings else display_path
        for text in pack(section.paragraphs, max_chars):
            found.append(Passage(title, source, text, len(found)))
    return found


def pack(paragraphs: List[str], max_chars: int = MAX_CHARS) -> Iterator[str]:
    """Join paragraphs with newlines while they fit; split longer ones at sentence ends."""
    current: List[str] = []
    size = 0
    for piece in _pieces(paragraphs, max_chars):
        added = len(piece) + (1 if current else 0)
        if current and size + added > max_chars:
            yield "\n".join(current)
            current, size = [], 0
            added = len(piece)
        current.append(piece)
        size += added
    if current:
        yield "\n".join(current)


def _pieces(paragraphs: List[str], max_chars: int) -> Iterator[str]:
    for paragraph in paragraphs:
        if len(paragraph) <= max_chars:
            yield paragraph
            continue
        # A long paragraph: whole sentences while they fit, then a hard cut for a
        # sentence longer than a passage (rare; tables flattened into one line).
        sentence_run = ""
        for sentence in filter(None, SENTENCE_END.split(paragraph)):
            if len(sentence_run) + len(sentence) <= max_chars:
                sentence_run += sentence
                continue
            if sentence_run:
                yield sentence_run
            while len(sentence) > max_chars:
                yield sentence[:max_chars]
                sentence = sentence[max_chars:]
            sentence_run = sentence
        if sentence_run:
            yield sentence_run
