"""Appending labelled examples to the trainers' hand-edited YAML without disturbing it.

The files under data/nlu are edited by people: comments, order and the `examples: |`
blocks must stay as they are. So nothing is re-dumped: an example is inserted as one text
line after the last example of its intent's block, with that block's indentation; a new
intent gets a new block in data/nlu/new_intents.yml and one line in the domain's intent
list. Every change remembers the file's previous text so it can be reverted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

# An intent block the entity extractor does not learn from: its examples (real customer
# messages) carry no entity annotations (components/annotated_crf.py, same marker).
UNANNOTATED = {"entities": "unannotated"}

NEW_INTENTS_FILE = "new_intents.yml"
INTENT_LINE = re.compile(r"^(?P<indent>\s*)-\s+intent:\s*(?P<name>[^\s#]+)\s*(?:#.*)?$")
EXAMPLE_LINE = re.compile(r"^(?P<prefix>\s+-\s+)(?P<text>.*)$")
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<name>[^)]+)\)|\{[^}]*\})")
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
NOT_LABELS = {"nlu_fallback", "faq"}


class LabelError(ValueError):
    """A label that cannot be applied; the message is for the trainer (Chinese)."""


def plain(example: str) -> str:
    """The text a customer typed, without entity annotations."""
    return ANNOTATION.sub(lambda m: m.group("text"), example)


def normalise(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", plain(text), flags=re.UNICODE).lower()


def clean_example(text: str) -> str:
    """One line of a YAML literal block: no line breaks, no surrounding blanks."""
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Catalogue:
    """What data/nlu and the domain hold now."""

    files: Dict[str, List[Path]]            # intent -> files holding a block of it
    examples: Dict[str, str]                # normalised example -> its intent
    domain_intents: List[str]
    # intent -> files holding a block of it that the entity extractor learns from (not
    # marked `metadata: {entities: unannotated}`, as the real-message files are)
    annotated_files: Dict[str, List[Path]] = field(default_factory=dict)

    @property
    def intents(self) -> List[str]:
        """Intents a trainer can pick: the domain's and the retrieval intents' topics."""
        names = [name for name in self.domain_intents if name not in NOT_LABELS]
        names += sorted(name for name in self.files if "/" in name)
        return names


def _nlu_files(project: Path) -> List[Path]:
    folder = project / "data" / "nlu"
    return sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))


def load_catalogue(project: Path) -> Catalogue:
    files: Dict[str, List[Path]] = {}
    annotated: Dict[str, List[Path]] = {}
    examples: Dict[str, str] = {}
    for path in _nlu_files(project):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in content.get("nlu") or []:
            name = block.get("intent") if isinstance(block, dict) else None
            if not name:
                continue
            files.setdefault(name, []).append(path)
            metadata = block.get("metadata")
            if not (isinstance(metadata, dict) and UNANNOTATED.items() <= metadata.items()):
                annotated.setdefault(name, []).append(path)
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.setdefault(normalise(line[2:]), name)
    return Catalogue(files=files, examples=examples, domain_intents=domain_intents(project),
                     annotated_files=annotated)


def domain_intents(project: Path) -> List[str]:
    domain = yaml.safe_load((project / "domain.yml").read_text(encoding="utf-8")) or {}
    names = []
    for item in domain.get("intents") or []:
        names.append(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


@dataclass
class Change:
    """Files changed by one label, with their text before (None: the file was new)."""

    before: Dict[Path, Optional[str]] = field(default_factory=dict)
    added: List[str] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # (example, why)
    files: List[Path] = field(default_factory=list)

    def remember(self, path: Path) -> None:
        if path not in self.before:
            self.before[path] = path.read_text(encoding="utf-8") if path.exists() else None
        if path not in self.files:
            self.files.append(path)

    def revert(self) -> None:
        for path, text in self.before.items():
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text, encoding="utf-8")


def _block_end(lines: List[str], start: int) -> Tuple[int, Optional[str]]:
    """Index after the last example line of the block whose `- intent:` is at `start`,
    and the prefix ("    - ") its examples use."""
    intent_line = INTENT_LINE.match(lines[start])
    if intent_line is None:
        raise ValueError(f"line {start + 1} is not an `- intent:` line")
    indent = len(intent_line.group("indent"))
    last, prefix = start + 1, None
    in_examples = False
    for index in range(start + 1, len(lines)):
        line = lines[index]
        stripped = line.strip()
        if stripped and (len(line) - len(line.lstrip())) <= indent:
            break
        if stripped.startswith("examples:"):
            in_examples, last = True, index + 1
            continue
        if in_examples and (match := EXAMPLE_LINE.match(line)):
            last, prefix = index + 1, match.group("prefix")
    return last, prefix


def _append_to_block(path: Path, intent: str, examples: List[str]) -> bool:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = INTENT_LINE.match(line)
        if match and match.group("name") == intent:
            end, prefix = _block_end(lines, index)
            if prefix is None:
                prefix = match.group("indent") + "    - "
            lines[end:end] = [prefix + example for example in examples]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return True
    return False


def _new_block(intent: str, examples: List[str]) -> str:
    body = "".join(f"    - {example}\n" for example in examples)
    return f"\n- intent: {intent}\n  examples: |\n{body}"


def _add_to_domain(project: Path, intent: str, change: Change) -> None:
    path = project / "domain.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^intents:\s*(#.*)?$", line)),
                 None)
    if start is None:
        raise LabelError("domain.yml 里没有 intents 列表")
    last, indent = start, "  - "
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if line.strip() and not line.startswith((" ", "\t")):
            break
        item = re.match(r"^(\s+-\s+)\S", line)
        if item:
            last, indent = index, item.group(1)
    change.remember(path)
    lines.insert(last + 1, f"{indent}{intent}  # added by the trainer")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def append_examples(project: Path, intent: str, examples: List[str], new: bool = False,
                    catalogue: Optional[Catalogue] = None) -> Change:
    """Adds the examples to the file that holds the intent (or a new intent's file).
    Examples already in the data are skipped; one labelled with another intent is
    refused, since contradictory examples teach the model nothing."""
    catalogue = catalogue or load_catalogue(project)
    change = Change()
    known = intent in catalogue.files or intent in catalogue.intents
    if new:
        if not INTENT_NAME.match(intent):
            raise LabelError("新意图名只能用小写英文字母、数字和下划线,以字母开头,"
                             "例如 ask_gift_wrap")
        if known or intent in catalogue.domain_intents:
            raise LabelError(f"意图 {intent} 已经存在,请直接选择它")
    elif not known or intent in NOT_LABELS:
        raise LabelError(f"没有这个意图: {intent}")
    if "/" in intent and intent not in catalogue.files:
        raise LabelError("FAQ 子意图需要先在 data/nlu/faq.yml 和 domain 的回答里建好")
    wanted: List[str] = []
    seen = set()
    for example in examples:
        example = clean_example(example)
        key = normalise(example)
        if not key:
            change.skipped.append((example, "空消息"))
        elif key in seen:
            continue
        elif key in catalogue.examples:
            other = catalogue.examples[key]
            why = "训练数据里已有" if other == intent else f"训练数据里已标为 {other}"
            change.skipped.append((example, why))
        else:
            seen.add(key)
            wanted.append(example)
    if not wanted:
        return change
    if not new and not catalogue.files.get(intent):
        raise LabelError(f"意图 {intent} 还没有训练样例文件")
    # The first topic file with a block of the intent. Not the real-message files, whose
    # blocks the entity extractor skips (the trainer's examples carry annotations) and which
    # scripts/real_data rewrites: an intent found only there gets a block of its own.
    paths = [] if new else catalogue.annotated_files.get(intent) or []
    if paths:
        path = paths[0]
        change.remember(path)
        if not _append_to_block(path, intent, wanted):
            raise LabelError(f"{path.name} 里找不到意图 {intent} 的样例块")
    else:
        path = project / "data" / "nlu" / NEW_INTENTS_FILE
        change.remember(path)
        if not path.exists():
            path.write_text('version: "3.1"\n\n# Intents created in the trainer review; move '
                            'them to a topic file when they have grown.\nnlu:\n',
                            encoding="utf-8")
        with path.open("a", encoding="utf-8") as handle:
            handle.write(_new_block(intent, wanted))
        if new:
            _add_to_domain(project, intent, change)
    change.added = wanted
    return change
