"""Empathic lines per situation and customer emotion (brand/empathy.yml), in the brand tone.

    line("delay", "angry", seed=tracker.sender_id)  ->  "非常抱歉,包裹晚了,耽误您的事了。"

The variant is chosen by a stable hash of the seed (not Python's per-process `hash`), so
the same conversation hears the same line, in every process, and tests are deterministic.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import emoji as emoji_lib
import yaml

from brand.tone import Tone, get_tone

DEFAULT_EMPATHY_PATH = Path(__file__).resolve().parent / "empathy.yml"
SITUATIONS = ("delay", "damaged", "quality", "complaint", "repeat_contact", "wait")
EMOTIONS = ("calm", "anxious", "angry")
DEFAULT_EMOTION = "calm"
TOP_KEYS = {"version", "never_say", "situations"}
# An angry customer gets a short, plain apology: no emoji, no playful particles or "~".
ANGRY_MAX_CHARS = 24
ANGRY_BANNED_CHARS = "~\uff5e哦呀啦哈嘛"
APOLOGY_WORDS = ("抱歉", "对不起")


class EmpathyError(ValueError):
    """The empathy file is invalid; the message names the file and the line."""


@dataclass(frozen=True)
class EmpathyBook:
    """All lines, by (situation, emotion). Immutable after loading, so thread-safe."""

    lines: Dict[Tuple[str, str], Tuple[str, ...]] = field(default_factory=dict)
    source: str = "<empathy>"

    @classmethod
    def from_file(cls, path: Union[str, Path, None] = None) -> EmpathyBook:
        book_path = Path(path) if path is not None else DEFAULT_EMPATHY_PATH
        try:
            data = yaml.safe_load(book_path.read_text(encoding="utf-8"))
        except OSError as error:
            raise EmpathyError(f"{book_path}: cannot read empathy file: {error}") from error
        except yaml.YAMLError as error:
            raise EmpathyError(f"{book_path}: invalid YAML: {error}") from error
        return cls.from_dict(data, source=str(book_path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<empathy>") -> EmpathyBook:
        return cls(lines=_parse(data, source), source=source)

    def line(self, situation: str, emotion: Optional[str] = None, seed: str = "",
             tone: Optional[Tone] = None) -> str:
        """One line for the situation and emotion, picked by `seed`, in `tone` (default:
        the shop's brand tone)."""
        if situation not in SITUATIONS:
            raise ValueError(f"unknown empathy situation {situation!r}; "
                             f"use one of {list(SITUATIONS)}")
        mood = emotion or DEFAULT_EMOTION
        if mood not in EMOTIONS:
            raise ValueError(f"unknown emotion {emotion!r}; use one of {list(EMOTIONS)}")
        variants = self.lines[(situation, mood)]
        text = variants[zlib.crc32(f"{situation}|{mood}|{seed}".encode()) % len(variants)]
        return (tone or get_tone()).apply(text)


def _exactly(given: Dict[Any, Any], expected: Sequence[str], what: str) -> None:
    unknown = sorted(set(map(str, given)) - set(expected))
    missing = [name for name in expected if name not in given]
    if unknown or missing:
        raise EmpathyError(f"{what} must be exactly {list(expected)}"
                           f"{f'; unknown {unknown}' if unknown else ''}"
                           f"{f'; missing {missing}' if missing else ''}")


def _parse(data: Any, source: str) -> Dict[Tuple[str, str], Tuple[str, ...]]:
    if not isinstance(data, dict):
        raise EmpathyError(f"{source}: expected a mapping with 'situations'")
    unknown = sorted(set(map(str, data)) - TOP_KEYS)
    if unknown:
        raise EmpathyError(f"{source}: unknown top-level key(s) {unknown}; "
                           f"expected {sorted(TOP_KEYS)}")
    if data.get("version") != 1:
        raise EmpathyError(f"{source}: 'version' must be 1")
    never_say = data.get("never_say") or []
    if not isinstance(never_say, list) or not all(isinstance(w, str) and w for w in never_say):
        raise EmpathyError(f"{source}: 'never_say' must be a list of words")
    situations = data.get("situations")
    if not isinstance(situations, dict):
        raise EmpathyError(f"{source}: 'situations' must be a mapping of situation -> emotions")
    _exactly(situations, SITUATIONS, f"{source}: situations")
    lines: Dict[Tuple[str, str], Tuple[str, ...]] = {}
    for situation in SITUATIONS:
        moods = situations[situation]
        where = f"{source}: situations.{situation}"
        if not isinstance(moods, dict):
            raise EmpathyError(f"{where} must be a mapping of emotion -> lines")
        _exactly(moods, EMOTIONS, f"{where}: emotions")
        for mood in EMOTIONS:
            variants = moods[mood]
            if isinstance(variants, str):
                variants = [variants]
            if not isinstance(variants, list) or not variants:
                raise EmpathyError(f"{where}.{mood}: needs one or more lines")
            checked: List[str] = []
            for index, text in enumerate(variants):
                checked.append(_check_line(text, mood, never_say, f"{where}.{mood}[{index}]"))
            lines[(situation, mood)] = tuple(checked)
    return lines


def _check_line(text: Any, mood: str, never_say: List[str], where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise EmpathyError(f"{where}: empty line")
    text = text.strip()
    promise = next((word for word in never_say if word in text), None)
    if promise:
        raise EmpathyError(f"{where}: {text!r} says {promise!r} (listed in never_say)")
    if "{" in text or "}" in text:
        raise EmpathyError(f"{where}: lines take no {{placeholders}}; facts come from the action")
    if mood == "angry":
        if emoji_lib.emoji_count(text) or any(char in text for char in ANGRY_BANNED_CHARS):
            raise EmpathyError(f"{where}: angry lines have no emoji, no ~ and no "
                               f"哦/呀/啦/哈/嘛: {text!r}")
        if len(text) > ANGRY_MAX_CHARS:
            raise EmpathyError(f"{where}: angry lines are at most {ANGRY_MAX_CHARS} "
                               f"characters: {text!r}")
        if not any(word in text for word in APOLOGY_WORDS):
            raise EmpathyError(f"{where}: angry lines apologise ({'/'.join(APOLOGY_WORDS)}): "
                               f"{text!r}")
    return text


@cache
def get_book() -> EmpathyBook:
    """The process-wide empathy lines, loaded once."""
    return EmpathyBook.from_file()


def line(situation: str, emotion: Optional[str] = None, seed: str = "",
         tone: Optional[Tone] = None) -> str:
    """An empathic line for `situation` (see SITUATIONS) and the customer's `emotion`
    (calm/anxious/angry; None = calm), chosen by `seed`, in the brand tone."""
    return get_book().line(situation, emotion, seed=seed, tone=tone)
