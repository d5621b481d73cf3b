"""Read shop documents (HTML product pages, Markdown SOPs) into titled sections.

A section is the text under one heading path; passages.py cuts sections into passages.
Only what a customer could be told survives: scripts, styles, navigation, headers,
footers and forms are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import yaml

HTML_SUFFIXES = frozenset({".html", ".htm"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
SUPPORTED_SUFFIXES = HTML_SUFFIXES | MARKDOWN_SUFFIXES

# Page furniture, not content. <header>/<footer> hold shop banners and links on product
# pages; a heading that matters belongs in <main>/<article>/<body>.
DROPPED_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside",
                "form", "button", "iframe", "svg", "canvas", "select", "head")
HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
# A definition term heads its definition like a heading one level below h6, so an FAQ
# written as <dl><dt>Q</dt><dd>A</dd></dl> keeps each question with its answer.
DT_LEVEL = 7
INLINE_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn", "em", "font",
    "i", "img", "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong",
    "sub", "sup", "time", "u", "var", "wbr",
})
CJK_OR_PUNCT = r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
# Chinese text is often typed with ASCII punctuation ("5L大容量,\n可视窗口").
CJK_OR_ANY_PUNCT = r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef,.;:!?)]"
# A line break of the source inside Chinese text is not a space ("温水\n  和洗洁精" is one
# phrase); a space typed on purpose ("声浪 蓝牙耳机Pro") stays.
BREAK_BETWEEN_CJK = re.compile(rf"(?<={CJK_OR_ANY_PUNCT})[ \t]*\n\s*(?={CJK_OR_PUNCT})")
BINARY_SNIFF_BYTES = 8192


class DocumentError(Exception):
    """A document cannot be used; the message says why, for the ingest report."""


@dataclass
class Section:
    headings: Tuple[str, ...]  # heading path below the document title
    paragraphs: List[str] = field(default_factory=list)


@dataclass
class ParsedDocument:
    title: str
    product_id: Optional[str]
    sections: List[Section]

    @property
    def has_text(self) -> bool:
        return any(section.paragraphs for section in self.sections)


def clean_text(text: str) -> str:
    """Whitespace runs as one space; line breaks between Chinese characters removed."""
    text = BREAK_BETWEEN_CJK.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def decode(content: bytes, name: str) -> str:
    """UTF-8 text of a document file, or DocumentError for binary or other encodings."""
    if not content.strip():
        raise DocumentError(f"{name}: empty file")
    if b"\x00" in content[:BINARY_SNIFF_BYTES]:
        raise DocumentError(f"{name}: binary file, not a text document")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"{name}: not UTF-8 text (byte {error.start}); save it as UTF-8") from error


def parse_document(path: Path, content: bytes) -> ParsedDocument:
    """Parse by suffix; DocumentError when the file holds no usable text."""
    text = decode(content, path.name)
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        document = parse_html(text, default_title=path.stem)
    elif suffix in MARKDOWN_SUFFIXES:
        document = parse_markdown(text, default_title=path.stem)
    else:
        raise DocumentError(f"{path.name}: unsupported file type {suffix or '(none)'}")
    if not document.has_text:
        raise DocumentError(f"{path.name}: no text found (empty or broken document?)")
    return document


class _SectionBuilder:
    """Collects paragraphs under the current heading path."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: List[Section] = [Section(())]
        self._stack: List[Tuple[int, str]] = []
        self._title_seen = False

    def heading(self, level: int, text: str) -> None:
        text = clean_text(text)
        if not text:
            return
        # The first heading that repeats the title is the title, not a section.
        if not self._title_seen and not self._stack and text == self.title:
            self._title_seen = True
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))
        self.sections.append(Section(tuple(heading for _, heading in self._stack)))

    def paragraph(self, text: str) -> None:
        text = clean_text(text)
        if text:
            self.sections[-1].paragraphs.append(text)


# ---------------------------------------------------------------------- HTML


def parse_html(text: str, default_title: str = "") -> ParsedDocument:
    from bs4 import BeautifulSoup, Comment, NavigableString, Tag
    from bs4.element import PageElement, PreformattedString

    soup = BeautifulSoup(text, "html.parser")
    meta = soup.find("meta", attrs={"name": "product_id"})
    content = meta.get("content") if isinstance(meta, Tag) else None
    product_id = content.strip() if isinstance(content, str) else ""
    first_h1 = soup.find("h1")
    title_tag = soup.find("title")
    title = clean_text(
        (first_h1.get_text() if first_h1 else "")
        or (title_tag.get_text() if title_tag else "")
    ) or default_title
    for tag in soup.find_all(DROPPED_TAGS):
        tag.decompose()
    for tag in soup.find_all(hidden=True):
        tag.decompose()
    for comment in soup.find_all(string=lambda value: isinstance(value, Comment)):
        comment.extract()

    builder = _SectionBuilder(title)

    def breaks(node: PageElement) -> bool:
        """A block element or a <br>: both end the paragraph before them."""
        return isinstance(node, Tag) and (node.name not in INLINE_TAGS or node.name == "br")

    def has_blocks(tag: Tag) -> bool:
        return any(breaks(child) for child in tag.descendants)

    def table(tag: Tag) -> None:
        rows = [[clean_text(cell.get_text()) for cell in row.find_all(["th", "td"])]
                for row in tag.find_all("tr")]
        first = tag.find("tr")
        header = rows[0] if first and not first.find("td") and len(rows) > 1 else None
        for cells in rows[1:] if header else rows:
            builder.paragraph(_table_row(cells, header))

    def heading(tag: Tag, level: int) -> None:
        if not has_blocks(tag):
            builder.heading(level, tag.get_text())
            return
        # An unclosed heading swallows what follows (<h2>清洁<p>用软布擦拭 ...): its leading
        # text is the heading, the rest is content under it.
        children = list(tag.children)
        lead: List[str] = []
        while children and not (breaks(children[0]) or
                                isinstance(children[0], Tag) and has_blocks(children[0])):
            child = children.pop(0)
            if not isinstance(child, PreformattedString):
                lead.append(child.get_text() if isinstance(child, Tag) else str(child))
        builder.heading(level, "".join(lead))
        walk(children, tag.name)

    def walk(nodes: Iterable[PageElement], parent: str) -> None:
        buffer: List[str] = []

        def flush() -> None:
            builder.paragraph("".join(buffer))
            buffer.clear()

        ordinal = 0
        for child in nodes:
            if isinstance(child, PreformattedString):
                continue  # doctype, CDATA, processing instructions
            if isinstance(child, NavigableString):
                buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "br":
                flush()  # a line break the author typed: keep the lines apart
                continue
            if name in INLINE_TAGS and not has_blocks(child):
                buffer.append(child.get_text())
                continue
            flush()
            if name in HEADING_LEVELS:
                heading(child, HEADING_LEVELS[name])
            elif name == "dt":
                heading(child, DT_LEVEL)
            elif name == "table":
                table(child)
            elif name == "li" and parent == "ol" and not has_blocks(child):
                ordinal += 1
                builder.paragraph(f"{ordinal}. {child.get_text()}")
            elif has_blocks(child):
                walk(child.children, name)
            else:
                builder.paragraph(child.get_text())
        flush()

    walk(soup.children, "")
    return ParsedDocument(title, product_id or None, builder.sections)


def _table_row(cells: List[str], header: Optional[List[str]]) -> str:
    if header and len(header) == len(cells):
        pairs = zip(header, cells, strict=True)
        return ";".join(f"{name}:{value}" for name, value in pairs if value)
    if len(cells) == 2:
        return f"{cells[0]}:{cells[1]}"
    return ",".join(cell for cell in cells if cell)


# ---------------------------------------------------------------------- Markdown

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
HTML_TAG = re.compile(r"<[^>]*>")


def _markdown_parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def _inline(token) -> str:
    """Plain text of an inline token: markup dropped, images by their alt text."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append("".join(grand.content for grand in child.children or []))
    return "".join(parts)


def _front_matter(text: str) -> Tuple[dict, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        raise DocumentError(f"invalid front matter: {error}") from error
    if not isinstance(data, dict):
        raise DocumentError("front matter must be key: value lines")
    return data, text[match.end():]


def parse_markdown(text: str, default_title: str = "") -> ParsedDocument:
    """Headings (ATX and setext), paragraphs, lists, tables, code; front matter optional.

    Parsed by markdown-it-py (CommonMark plus tables), so escaped pipes, setext headings and
    nested blocks read as a Markdown renderer shows them. Front matter keys used: ``title``
    and ``product_id``.
    """
    meta, body = _front_matter(text)
    tokens = _markdown_parser().parse(body)
    title = clean_text(str(meta.get("title") or ""))
    if not title:
        title = next((clean_text(_inline(tokens[index + 1])) for index, token
                      in enumerate(tokens) if token.type == "heading_open" and token.tag == "h1"),
                     "") or default_title
    product_id = str(meta["product_id"]).strip() if meta.get("product_id") else None
    builder = _SectionBuilder(title)
    ordinals: List[Optional[int]] = []  # one per open list: the next number, None if bulleted
    header: Optional[List[str]] = None
    row: List[str] = []
    in_head = False
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            builder.heading(int(token.tag[1]), _inline(tokens[index + 1]))
        elif kind == "ordered_list_open":
            ordinals.append(int(token.attrGet("start") or 1))
        elif kind == "bullet_list_open":
            ordinals.append(None)
        elif kind in ("ordered_list_close", "bullet_list_close"):
            ordinals.pop()
        elif kind == "inline" and tokens[index - 1].type == "paragraph_open":
            content = _inline(token)
            # The first paragraph of an ordered item carries its number.
            if (ordinals and ordinals[-1] is not None and index >= 2
                    and tokens[index - 2].type == "list_item_open"):
                content = f"{ordinals[-1]}. {content}"
                ordinals[-1] += 1
            builder.paragraph(content)
        elif kind in ("fence", "code_block"):
            builder.paragraph(token.content)
        elif kind == "html_block":
            builder.paragraph(HTML_TAG.sub("", token.content))
        elif kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row = []
        elif kind == "inline" and tokens[index - 1].type in ("th_open", "td_open"):
            row.append(clean_text(_inline(token)))
        elif kind == "tr_close":
            if in_head:
                header = row
            else:
                builder.paragraph(_table_row(row, header))
        elif kind == "table_close":
            header = None
    return ParsedDocument(title, product_id, builder.sections)
