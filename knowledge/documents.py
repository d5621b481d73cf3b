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
    product_id = (meta.get("content") or "").strip() if isinstance(meta, Tag) else ""
    first_h1 = soup.find("h1")
    title_tag = soup.find("title")
    title = clean_text(
        (first_h1.get_text() if first_h1 else "")
        or (title_tag.get_text() if title_tag else "")
    ) or default_title
    for tag in soup.find_all(DROPPED_TAGS):
        tag.decompose()
    for tag in soup.find_all(attrs={"hidden": True}):
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
ATX_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
LIST_ITEM = re.compile(r"^[ \t]*(?:([-*+])|(\d+)[.)])[ \t]+(.*)$")
FENCE = re.compile(r"^[ \t]*(```|~~~)")
RULE = re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$")
TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
INLINE_MARKUP = [
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # link -> its text
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"<[^>\n]+>"), ""),  # inline HTML tags
]


def _inline(text: str) -> str:
    for pattern, replacement in INLINE_MARKUP:
        text = pattern.sub(replacement, text)
    return text


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
    """Headings (#), paragraphs, list items, tables, fenced code; front matter optional.

    Front matter keys used: ``title`` and ``product_id``.
    """
    meta, body = _front_matter(text)
    lines = body.splitlines()
    title = clean_text(str(meta.get("title") or ""))
    if not title:
        title = next((clean_text(_inline(m.group(2))) for m in map(ATX_HEADING.match, lines)
                      if m and len(m.group(1)) == 1), "") or default_title
    product_id = str(meta["product_id"]).strip() if meta.get("product_id") else None
    builder = _SectionBuilder(title)
    paragraph: List[str] = []
    table_rows: List[Optional[List[str]]] = []  # None: the |---| row under a header
    fence: Optional[str] = None

    def flush() -> None:
        if paragraph:
            builder.paragraph(_inline("\n".join(paragraph)))
            paragraph.clear()
        if table_rows:
            header = table_rows[0] if len(table_rows) > 1 and table_rows[1] is None else None
            for row in table_rows[2:] if header else table_rows:
                if row is not None:
                    builder.paragraph(_table_row([_inline(c) for c in row], header))
            table_rows.clear()

    for line in lines:
        if fence:
            if line.strip().startswith(fence):
                fence = None
                flush()
            else:
                paragraph.append(line)
            continue
        fence_match = FENCE.match(line)
        if fence_match:
            flush()
            fence = fence_match.group(1)
            continue
        stripped = line.strip()
        if stripped.startswith("|"):
            if paragraph:
                flush()
            if TABLE_SEPARATOR.match(stripped):
                table_rows.append(None)
            else:
                table_rows.append([clean_text(c) for c in stripped.strip("|").split("|")])
            continue
        if table_rows:
            flush()
        heading = ATX_HEADING.match(line)
        if heading:
            flush()
            builder.heading(len(heading.group(1)), _inline(heading.group(2)))
            continue
        if not stripped or RULE.match(line):
            flush()
            continue
        item = LIST_ITEM.match(line)
        if item:
            flush()
            number = item.group(2)
            paragraph.append(f"{number}. {item.group(3)}" if number else item.group(3))
            continue
        paragraph.append(stripped[1:].strip() if stripped.startswith(">") else stripped)
    flush()
    return ParsedDocument(title, product_id, builder.sections)
