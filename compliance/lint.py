"""Lint every text the project ships against compliance/rules.yml.

Checked (with no paths given, relative to the project root):
  * domain.yml (or domain/) and data/**/*.yml: strings under `responses:` only
    (texts, button titles); NLU examples are what customers say, not what we send;
  * knowledge/ and actions/templates/: every string in *.yml, the whole of *.md / *.html;
  * actions/**/*.py: string literals containing Chinese (docstrings, regex patterns and
    log messages are not sent to customers and are skipped). The actions' sentences are
    domain responses now; what the actions still word (dates in words, item summaries)
    and their keyword lists are checked here.
Every rule of every product category applies: a template may be said about any product.
Output: `file:line: [rule_id] term — excerpt`; exit status 1 when anything is found.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Set, TextIO, Tuple, Union

import yaml

from compliance.checker import ALL_CATEGORIES, ComplianceChecker
from service_common.config import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
YAML_SUFFIXES = {".yml", ".yaml"}
MARKUP_SUFFIXES = {".md", ".html", ".htm"}
SUFFIXES = YAML_SUFFIXES | MARKUP_SUFFIXES | {".py"}
# Folders whose files are shipped texts as a whole (not only `responses:`).
FREE_TEXT_DIRS = {"knowledge", "templates"}
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules", ".pytest_cache"}
# Response fields that are not shown to the customer.
NON_TEXT_KEYS = {"payload", "image", "channel", "condition", "url", "id", "type", "metadata"}
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall",
                "finditer"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
EXCERPT_CHARS = 12
DOCSTRING_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)

PathLike = Union[str, Path]


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule_id: str
    term: str
    excerpt: str

    def format(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule_id}] {self.term} — {self.excerpt}"


@dataclass(frozen=True)
class Text:
    """One shipped text: where its source starts and the raw source it came from."""

    value: str
    line: int  # 1-based line where `source` starts
    source: str  # the raw source of the text, to find a term's exact line


class LintError(Exception):
    """A file could not be read or parsed."""


# ---------------------------------------------------------------------- file discovery


def default_targets(root: Path = PROJECT_ROOT) -> List[Path]:
    """Every shipped-text file of the project that exists."""
    files: List[Path] = []
    domain = root / "domain.yml"
    if domain.is_file():
        files.append(domain)
    files += _walk(root / "domain", YAML_SUFFIXES)
    files += _walk(root / "data", YAML_SUFFIXES)
    files += _walk(root / "knowledge", YAML_SUFFIXES | MARKUP_SUFFIXES)
    files += _walk(root / "actions", {".py"})
    files += _walk(root / "actions" / "templates", YAML_SUFFIXES | MARKUP_SUFFIXES)
    return files


def collect(paths: Sequence[PathLike]) -> List[Path]:
    """Files named on the command line; folders are searched for supported files."""
    files: List[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += _walk(path, SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise LintError(f"{raw}: no such file or folder")
    return files


def _walk(folder: Path, suffixes: Iterable[str]) -> List[Path]:
    if not folder.is_dir():
        return []
    wanted = set(suffixes)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        found += [Path(dirpath) / name for name in sorted(filenames)
                  if Path(name).suffix.lower() in wanted]
    return found


# ---------------------------------------------------------------------- text extraction


def extract(path: Path) -> List[Text]:
    """The customer-facing texts of one file."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LintError(f"{path}: cannot read: {error}") from error
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return _yaml_texts(source, path, free_text=_is_free_text(path))
    if suffix == ".py":
        return _python_texts(source, path)
    if suffix in {".html", ".htm"}:
        return [Text(_strip_html(source), 1, _strip_html(source))]
    if suffix == ".md":
        return [Text(source, 1, source)]
    return []


def _is_free_text(path: Path) -> bool:
    # Only folders inside the project (or below the working folder) count, so a checkout
    # under e.g. ~/templates/ does not turn every YAML file into free text.
    resolved = path.resolve()
    for base in (PROJECT_ROOT, Path.cwd().resolve()):
        try:
            parts = resolved.relative_to(base).parts
            break
        except ValueError:
            continue
    else:
        parts = path.parts
    return any(part in FREE_TEXT_DIRS for part in parts[:-1])


def _yaml_texts(source: str, path: Path, free_text: bool) -> List[Text]:
    try:
        documents = list(yaml.compose_all(source, Loader=yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise LintError(f"{path}{line}: invalid YAML: {error}") from error
    texts: List[Text] = []
    for document in documents:
        if document is None:
            continue
        if free_text:
            roots = [document]
        else:
            # Rasa files: only what the bot says. NLU/stories hold customer messages.
            roots = [value for key, value in _mapping_items(document) if key == "responses"]
        for root in roots:
            for node in _string_scalars(root):
                texts.append(Text(node.value, node.start_mark.line + 1,
                                  source[node.start_mark.index:node.end_mark.index]))
    return texts


def _mapping_items(node: yaml.Node) -> Iterator[Tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield (key.value if isinstance(key, yaml.ScalarNode) else "", value)


def _string_scalars(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    """String values (never mapping keys), skipping fields that are not shown."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:str" and node.value.strip():
            yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _string_scalars(item)
    elif isinstance(node, yaml.MappingNode):
        for key, value in _mapping_items(node):
            if key not in NON_TEXT_KEYS:
                yield from _string_scalars(value)


def _python_texts(source: str, path: Path) -> List[Text]:
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise LintError(f"{path}:{error.lineno}: cannot parse: {error.msg}") from error
    skipped = _non_customer_strings(tree)
    texts: List[Tuple[int, int, Text]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.JoinedStr):
            # f"...{x}...": check the literal parts; "{}" stands for each value.
            for child in ast.walk(node):
                skipped.add(id(child))
            value = "".join(str(part.value) if isinstance(part, ast.Constant) else "{}"
                            for part in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
        else:
            continue
        if CJK.search(value):
            segment = ast.get_source_segment(source, node) or ""
            texts.append((node.lineno, node.col_offset, Text(value, node.lineno, segment)))
    # ast.walk is breadth-first; report in source order.
    return [text for _, _, text in sorted(texts, key=lambda item: item[:2])]


def _non_customer_strings(tree: ast.AST) -> Set[int]:
    """ids of docstrings, regex patterns and log messages: never sent to customers."""
    skipped: Set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, DOCSTRING_OWNERS)
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            skipped.add(id(body[0].value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else ""
            if owner_name == "re" and node.func.attr in RE_FUNCTIONS and node.args:
                skipped.update(id(n) for n in ast.walk(node.args[0]))
            elif node.func.attr in LOG_METHODS and owner_name in {"logger", "logging", "log"}:
                for arg in node.args:
                    skipped.update(id(n) for n in ast.walk(arg))
    return skipped


def _strip_html(source: str) -> str:
    """Blank out tags, comments, scripts and styles, keeping offsets and line breaks."""
    def blank(match: re.Match) -> str:
        return re.sub(r"[^\n]", " ", match.group())

    source = re.sub(r"<(script|style)\b.*?</\1\s*>", blank, source, flags=re.S | re.I)
    source = re.sub(r"<!--.*?-->", blank, source, flags=re.S)
    return re.sub(r"<[^>]*>", blank, source)


# ---------------------------------------------------------------------- checking


def lint_files(
    files: Sequence[PathLike],
    checker: Optional[ComplianceChecker] = None,
    product_category: Optional[str] = ALL_CATEGORIES,
) -> Tuple[List[Finding], int]:
    """(findings, number of texts checked) for the given files."""
    checker = checker or ComplianceChecker.from_file()
    findings: List[Finding] = []
    count = 0
    for file in files:
        path = Path(file)
        shown = _display(path)
        for text in extract(path):
            count += 1
            verdict = checker.check(text.value, product_category)
            for hit in verdict.hits:
                findings.append(Finding(shown, _line_of(text, hit.term, hit.start), hit.rule_id,
                                        hit.term, _excerpt(text.value, hit.start, hit.end)))
    return findings, count


def _line_of(text: Text, term: str, start: int) -> int:
    """Line of the n-th occurrence of `term` in the raw source (n as in the value)."""
    nth = text.value.count(term, 0, start)
    offset = -1
    for _ in range(nth + 1):
        offset = text.source.find(term, offset + 1)
        if offset < 0:
            # Escaped or split in the source ("\u6700", "最" "好"): the text's first line.
            return text.line
    return text.line + text.source.count("\n", 0, offset)


def _excerpt(value: str, start: int, end: int) -> str:
    """The term with a few characters either side, whitespace runs shown as one space."""
    before = re.sub(r"\s+", " ", value[:start])
    after = re.sub(r"\s+", " ", value[end:])
    left = ("…" if len(before) > EXCERPT_CHARS else "") + before[-EXCERPT_CHARS:]
    right = after[:EXCERPT_CHARS] + ("…" if len(after) > EXCERPT_CHARS else "")
    return (left.lstrip() + value[start:end] + right.rstrip()).strip()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(
    paths: Sequence[str] = (),
    rules: Optional[str] = None,
    product_category: str = ALL_CATEGORIES,
    out: Optional[TextIO] = None,
    err: Optional[TextIO] = None,
) -> int:
    """Run the lint; 0 clean, 1 findings, 2 bad rules file or unreadable input."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        checker = ComplianceChecker.from_file(rules)
        files = collect(paths) if paths else default_targets()
        findings, count = lint_files(files, checker, product_category)
    except (ConfigError, LintError) as error:
        print(f"compliance lint: {error}", file=err)
        return 2
    for finding in findings:
        print(finding.format(), file=out)
    if findings:
        print(f"compliance lint: {len(findings)} problem(s) in {count} texts of "
              f"{len(files)} files", file=err)
        return 1
    print(f"compliance lint: {count} texts in {len(files)} files, no problems", file=err)
    return 0
