"""Advertising-law (广告法) checker for every outgoing text, driven by compliance/rules.yml.

One `ComplianceChecker` serves the runtime guard (`guard`, on every bot message) and the
CI lint (`check`). Everything is compiled at load, per product-category scope: all
literal terms as one trie regex, plus one regex per pattern. At each position where
something matches, the longest match wins and an exception (allow entry) wins a tie.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union

from pydantic import StrictStr, conlist, constr, root_validator, validator

from service_common.config import At, ConfigError, Model, Text, parse, path_text, read_yaml

logger = logging.getLogger("compliance")

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "rules.yml"
# Pass as product_category to apply every category's rules (the lint does: a shipped
# template may be said about any product).
ALL_CATEGORIES = "*"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
# Full-width ASCII (ＴＯＰ１, １００％) and the ideographic space map 1:1 to ASCII, so
# spans found in the normalised text are valid in the original.
FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
FULLWIDTH[0x3000] = 0x20
MAX_LOGGED_TERM = 20  # a pattern match is short, but never log more than a term


@dataclass(frozen=True)
class Entry:
    """One rule or allow entry, as loaded."""

    id: str
    kind: str  # "rule" or "allow"
    category: str = ""
    action: str = ""
    replacement: Optional[str] = None
    terms: Tuple[str, ...] = ()
    patterns: Tuple[str, ...] = ()
    product_category: Optional[str] = None  # None: applies to every product


@dataclass(frozen=True)
class Hit:
    """A banned term found in a text; `start`/`end` index the checked text."""

    rule_id: str
    category: str
    term: str
    start: int
    end: int
    action: str
    replacement: Optional[str] = None

    @property
    def span(self) -> Tuple[int, int]:
        return (self.start, self.end)


@dataclass(frozen=True)
class Verdict:
    """Result of `ComplianceChecker.check`.

    `allowed`: the text may go out unchanged (no hit at all; this is what the
    compliance rate counts). `blocked`: a `block` rule hit, so the text must not go out.
    `text`: the text after every `rewrite` (blocked terms are left in place).
    """

    original: str
    text: str
    hits: Tuple[Hit, ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return not self.hits

    @property
    def blocked(self) -> bool:
        return any(hit.action == "block" for hit in self.hits)

    @property
    def rewritten(self) -> bool:
        return self.text != self.original


class _Matcher:
    """Every entry active for one product-category scope, compiled once.

    All literal terms form one trie regex (its match is always the longest term); each
    pattern is its own precompiled regex. A scan keeps, per regex, its next match and
    searches again only once the scan has moved past it, so a text is read about once
    per regex instead of trying every alternative at every position.
    """

    def __init__(self, entries: Sequence[Entry], scope: Optional[str], source: str) -> None:
        self.literals: Dict[str, Entry] = {}
        regexes: List[re.Pattern] = []
        owners: List[Optional[Entry]] = []  # None: the literal trie (owner looked up)
        for entry in entries:
            for term in entry.terms:
                key = term.lower()
                other = self.literals.get(key)
                if other is None:
                    self.literals[key] = entry
                elif scope != ALL_CATEGORIES or other.kind != entry.kind:
                    # In the all-categories scope the same term may sit in several
                    # product lists; anywhere else a duplicate means a dead entry.
                    raise ConfigError(
                        source, f"term '{term}' is in both '{other.id}' and '{entry.id}'"
                        f"{'' if scope is None else f' (product category {scope})'}")
        if self.literals:
            regexes.append(re.compile(_trie_regex(self.literals), re.IGNORECASE))
            owners.append(None)
        for entry in entries:
            for pattern in entry.patterns:
                regexes.append(re.compile(pattern, re.IGNORECASE))
                owners.append(entry)
        self.regexes = tuple(regexes)
        self.owners = tuple(owners)

    def scan(self, text: str) -> List[Tuple[int, int, Entry]]:
        """Non-overlapping (start, end, rule) hits; allow entries only suppress."""
        normalized = text.translate(FULLWIDTH)
        upcoming: List[Optional[re.Match]] = [None] * len(self.regexes)
        for index, regex in enumerate(self.regexes):
            upcoming[index] = _search(regex, normalized, 0)
        hits: List[Tuple[int, int, Entry]] = []
        while True:
            start = min((m.start() for m in upcoming if m is not None), default=-1)
            if start < 0:
                break
            # Longest match at this position wins; an allow entry wins a tie.
            best_end, best = start, None
            for match, owner in zip(upcoming, self.owners, strict=True):
                if match is None or match.start() != start:
                    continue
                entry = owner or self.literals.get(match.group().lower())
                if entry is None:
                    continue
                end = match.end()
                if end > best_end or (end == best_end and entry.kind == "allow"
                                      and best is not None and best.kind != "allow"):
                    best_end, best = end, entry
            if best is not None and best.kind == "rule":
                hits.append((start, best_end, best))
            pos = best_end if best is not None else start + 1
            for index, match in enumerate(upcoming):
                if match is not None and match.start() < pos:
                    upcoming[index] = _search(self.regexes[index], normalized, pos)
        return hits


def _search(regex: re.Pattern, text: str, pos: int) -> Optional[re.Match]:
    """Next non-empty match at or after pos (zero-length matches carry no term)."""
    match = regex.search(text, pos)
    while match is not None and match.end() == match.start():
        if match.start() >= len(text):
            return None
        match = regex.search(text, match.start() + 1)
    return match


def _trie_regex(literals: Dict[str, Entry]) -> str:
    """One regex for all literal terms whose match is always the longest term."""
    trie: Dict[str, Any] = {}
    for term in literals:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = True

    def build(node: Dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child)
                    for char, child in sorted(node.items()) if char != ""]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # A term may end here: the longer continuation is tried first (greedy).
        if "" in node:
            return f"(?:{body})?"
        return body

    return build(trie)


class ComplianceChecker:
    """Checks and rewrites texts against the rules file. Thread-safe after loading."""

    def __init__(
        self,
        entries: Sequence[Entry],
        fallback: str,
        categories: Dict[str, Tuple[str, ...]],
        source: str = "<rules>",
    ) -> None:
        self.fallback = fallback
        self.source = source
        self.entries = tuple(entries)
        self.categories = dict(categories)  # canonical name -> aliases
        self._aliases: Dict[str, str] = {}
        for name, aliases in self.categories.items():
            for alias in (name, *aliases):
                key = alias.strip().lower()
                if key in self._aliases and self._aliases[key] != name:
                    raise ConfigError(
                        source, f"product category alias '{alias}' is used by both "
                        f"'{self._aliases[key]}' and '{name}'", f"product_categories.{name}")
                self._aliases[key] = name
        self._warned: set[str] = set()
        # Every scope is compiled now, so conflicts surface at load, not mid-conversation.
        self._matchers: Dict[Optional[str], _Matcher] = {}
        for scope in (None, ALL_CATEGORIES, *self.categories):
            self._matchers[scope] = _Matcher(self._scope_entries(scope), scope, source)
        fallback_hits = self.check(fallback, ALL_CATEGORIES).hits
        if fallback_hits:
            raise ConfigError(source, f"fallback text breaks rule "
                              f"'{fallback_hits[0].rule_id}' ({fallback_hits[0].term})", "fallback")
        for entry in self.entries:
            # A replacement that is itself banned would loop the problem back out.
            bad = self.check(entry.replacement or "", ALL_CATEGORIES).hits
            if bad:
                raise ConfigError(source, f"rule '{entry.id}': replacement "
                                  f"{entry.replacement!r} breaks rule '{bad[0].rule_id}'")

    @classmethod
    def from_file(cls, path: Union[str, Path, None] = None) -> ComplianceChecker:
        """Load and validate a rules file (default: compliance/rules.yml)."""
        rules_path = Path(path) if path is not None else DEFAULT_RULES_PATH
        data, text = read_yaml(rules_path)
        return cls.from_dict(data, source=str(rules_path), text=text)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<rules>",
                  text: Optional[str] = None) -> ComplianceChecker:
        """Build from already-parsed YAML (tests, or rules kept elsewhere)."""
        return cls(*_parse(parse(data, RulesFile, source, text)), source=source)

    # ------------------------------------------------------------------ checking

    def resolve_category(self, product_category: Optional[str]) -> Optional[str]:
        """Canonical category name, ALL_CATEGORIES, or None (general rules only)."""
        if product_category is None or product_category == "":
            return None
        if product_category == ALL_CATEGORIES:
            return ALL_CATEGORIES
        name = self._aliases.get(product_category.strip().lower())
        if name is None and product_category not in self._warned:
            # Unknown categories get the general rules; say so once, not per message.
            self._warned.add(product_category)
            logger.warning("compliance: unknown product category %r, general rules only",
                           product_category[:40])
        return name

    def check(self, text: str, product_category: Optional[str] = None) -> Verdict:
        """Find every banned term; `product_category` adds that category's lists."""
        if not text:
            return Verdict(original=text or "", text=text or "")
        matcher = self._matchers[self.resolve_category(product_category)]
        found = matcher.scan(text)
        if not found:
            return Verdict(original=text, text=text)
        hits = tuple(
            Hit(rule_id=entry.id, category=entry.category, term=text[start:end], start=start,
                end=end, action=entry.action, replacement=entry.replacement)
            for start, end, entry in found
        )
        parts: List[str] = []
        last = 0
        for hit in hits:
            if hit.action == "rewrite":
                parts.append(text[last:hit.start])
                parts.append(hit.replacement or "")
                last = hit.end
        parts.append(text[last:])
        return Verdict(original=text, text="".join(parts), hits=hits)

    def guard(self, text: str, product_category: Optional[str] = None) -> str:
        """The text to send: unchanged, rewritten, or the fallback when blocked.

        Logs one structured "compliance" event per changed message with rule ids,
        actions and terms only: never the message, which may hold personal data.
        """
        verdict = self.check(text, product_category)
        if verdict.allowed:
            return text
        action = "block" if verdict.blocked else "rewrite"
        hits = [
            {"rule_id": hit.rule_id, "category": hit.category, "action": hit.action,
             "term": hit.term[:MAX_LOGGED_TERM]}
            for hit in verdict.hits
        ]
        event = {"action": action, "product_category": self.resolve_category(product_category),
                 "hits": hits}
        logger.log(
            logging.WARNING if verdict.blocked else logging.INFO,
            "compliance %s: %s", action,
            ", ".join(f"{hit['rule_id']}({hit['term']})" for hit in hits),
            extra={"compliance": event},
        )
        return self.fallback if verdict.blocked else verdict.text

    def _scope_entries(self, scope: Optional[str]) -> List[Entry]:
        if scope is None:
            return [e for e in self.entries if e.product_category is None]
        if scope == ALL_CATEGORIES:
            # Strictest: every rule, but only the exceptions that hold for all products.
            return [e for e in self.entries if e.product_category is None or e.kind == "rule"]
        return [e for e in self.entries if e.product_category in (None, scope)]


@cache
def get_checker(path: Optional[str] = None) -> ComplianceChecker:
    """The process-wide checker for a rules file (loaded and compiled once)."""
    return ComplianceChecker.from_file(path)


# ---------------------------------------------------------------------- the file


class AllowSpec(Model):
    id: constr(strict=True, regex=ID_PATTERN.pattern)  # type: ignore[valid-type]
    terms: List[StrictStr] = []
    patterns: List[Text] = []
    note: Optional[str] = None

    @validator("terms", each_item=True)
    def _term(cls, term: str) -> str:
        if not term.strip():
            raise ValueError("empty term")
        if term != term.strip():
            raise ValueError(f"term {term!r} has leading or trailing spaces")
        return term.translate(FULLWIDTH)

    @validator("patterns", each_item=True)
    def _pattern(cls, pattern: str) -> str:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise ValueError(f"bad regex {pattern!r}: {error}") from None
        if compiled.match("") is not None:
            raise ValueError(f"pattern {pattern!r} matches empty text")
        if re.search(r"\\[1-9]|\(\?P=|\(\?[aiLmsux]+\)", pattern):
            # They would change meaning once all patterns are combined into one regex.
            raise ValueError(f"pattern {pattern!r} uses a backreference or an inline flag, "
                             "which are not supported")
        return pattern

    @root_validator(skip_on_failure=True)
    def _something(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if not values["terms"] and not values["patterns"]:
            raise ValueError("needs at least one term or pattern")
        return values


class RuleSpec(AllowSpec):
    category: StrictStr
    action: Literal["block", "rewrite"]
    replacement: Optional[StrictStr] = None

    @validator("replacement", always=True)
    def _replacement(cls, replacement: Optional[str], values: Dict[str, Any]) -> Optional[str]:
        if values.get("action") == "rewrite" and replacement is None:
            raise ValueError("action 'rewrite' needs a 'replacement' text (\"\" deletes the term)")
        if values.get("action") == "block" and replacement is not None:
            raise ValueError("'replacement' is only used with action 'rewrite'")
        return replacement


class ProductCategory(Model):
    aliases: List[Text] = []
    allow: List[AllowSpec] = []
    rules: List[RuleSpec] = []


class RulesFile(Model):
    """compliance/rules.yml"""

    version: Literal[1]
    fallback: Text
    rule_categories: conlist(Text, min_items=1)  # type: ignore[valid-type]
    allow: List[AllowSpec] = []
    rules: List[RuleSpec] = []
    product_categories: Dict[constr(strict=True, regex=r"^[^*\s]+$"),  # type: ignore[valid-type]
                             ProductCategory] = {}

    @root_validator(skip_on_failure=True)
    def _consistent(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        seen: Dict[str, str] = {}
        lists: List[Tuple[Tuple[str, ...], List[AllowSpec]]] = [
            (("allow",), values["allow"]), (("rules",), values["rules"])]
        for name, spec in values["product_categories"].items():
            lists += [(("product_categories", name, "allow"), spec.allow),
                      (("product_categories", name, "rules"), spec.rules)]
        for where, entries in lists:
            for index, entry in enumerate(entries):
                here = path_text((*where, index))
                if entry.id in seen:
                    raise At((*where, index, "id"),
                             f"rule id '{entry.id}' is used twice ({seen[entry.id]} and {here})")
                seen[entry.id] = here
                if isinstance(entry, RuleSpec) and entry.category not in values["rule_categories"]:
                    raise At((*where, index, "category"), f"category {entry.category!r} is not "
                             f"one of {values['rule_categories']}")
        if not any(entries and where[-1] == "rules" for where, entries in lists):
            raise ValueError("no rules defined")
        return values


def _parse(spec: RulesFile) -> Tuple[List[Entry], str, Dict[str, Tuple[str, ...]]]:
    entries: List[Entry] = []
    for product, allow, rules in [(None, spec.allow, spec.rules)] + [
            (name, cat.allow, cat.rules) for name, cat in spec.product_categories.items()]:
        entries += [Entry(id=e.id, kind="allow", terms=tuple(e.terms), patterns=tuple(e.patterns),
                          product_category=product) for e in allow]
        entries += [Entry(id=e.id, kind="rule", category=e.category, action=e.action,
                          replacement=e.replacement, terms=tuple(e.terms),
                          patterns=tuple(e.patterns), product_category=product) for e in rules]
    categories = {name: tuple(cat.aliases) for name, cat in spec.product_categories.items()}
    return entries, spec.fallback, categories
