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
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

import emoji as emoji_lib
from pydantic import conlist, validator

from brand.tone import Tone, get_tone
from service_common.config import At, Model, Text, parse, read_yaml

DEFAULT_EMPATHY_PATH = Path(__file__).resolve().parent / "empathy.yml"
SITUATIONS = ("delay", "not_shipped", "damaged", "quality", "complaint", "repeat_contact", "wait")
EMOTIONS = ("calm", "anxious", "angry")
DEFAULT_EMOTION = "calm"
# An angry customer gets a short, plain apology: no emoji, no playful particles or "~".
ANGRY_MAX_CHARS = 24
ANGRY_BANNED_CHARS = "~\uff5e哦呀啦哈嘛"
APOLOGY_WORDS = ("抱歉", "对不起")


@dataclass(frozen=True)
class EmpathyBook:
    """All lines, by (situation, emotion). Immutable after loading, so thread-safe."""

    lines: Dict[Tuple[str, str], Tuple[str, ...]] = field(default_factory=dict)
    source: str = "<empathy>"

    @classmethod
    def from_file(cls, path: Union[str, Path, None] = None) -> EmpathyBook:
        book_path = Path(path) if path is not None else DEFAULT_EMPATHY_PATH
        data, text = read_yaml(book_path)
        return cls.from_dict(data, str(book_path), text)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<empathy>",
                  text: Optional[str] = None) -> EmpathyBook:
        situations = parse(data, EmpathyFile, source, text).situations
        return cls(lines={(situation, mood): tuple(line.strip() for line in getattr(
            getattr(situations, situation), mood)) for situation in SITUATIONS
            for mood in EMOTIONS}, source=source)

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


def _one_or_more(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Lines = conlist(Text, min_items=1)


class Moods(Model):
    calm: Lines  # type: ignore[valid-type]
    anxious: Lines  # type: ignore[valid-type]
    angry: Lines  # type: ignore[valid-type]

    _one = validator("*", pre=True, allow_reuse=True)(_one_or_more)


class Situations(Model):
    delay: Moods
    not_shipped: Moods
    damaged: Moods
    quality: Moods
    complaint: Moods
    repeat_contact: Moods
    wait: Moods


class EmpathyFile(Model):
    """brand/empathy.yml"""

    version: Literal[1]
    never_say: List[Text] = []
    situations: Situations

    @validator("situations")
    def _lines(cls, situations: Situations, values: Dict[str, Any]) -> Situations:
        for situation in SITUATIONS:
            for mood in EMOTIONS:
                for index, text in enumerate(getattr(getattr(situations, situation), mood)):
                    problem = _line_problem(text.strip(), mood, values.get("never_say") or [])
                    if problem:
                        raise At((situation, mood, index), problem)
        return situations


def _line_problem(text: str, mood: str, never_say: List[str]) -> Optional[str]:
    promise = next((word for word in never_say if word in text), None)
    if promise:
        return f"{text!r} says {promise!r} (listed in never_say)"
    if "{" in text or "}" in text:
        return "lines take no {placeholders}; facts come from the action"
    if mood != "angry":
        return None
    if emoji_lib.emoji_count(text) or any(char in text for char in ANGRY_BANNED_CHARS):
        return f"angry lines have no emoji, no ~ and no 哦/呀/啦/哈/嘛: {text!r}"
    if len(text) > ANGRY_MAX_CHARS:
        return f"angry lines are at most {ANGRY_MAX_CHARS} characters: {text!r}"
    if not any(word in text for word in APOLOGY_WORDS):
        return f"angry lines apologise ({'/'.join(APOLOGY_WORDS)}): {text!r}"
    return None


@cache
def get_book() -> EmpathyBook:
    """The process-wide empathy lines, loaded once."""
    return EmpathyBook.from_file()


def line(situation: str, emotion: Optional[str] = None, seed: str = "",
         tone: Optional[Tone] = None) -> str:
    """An empathic line for `situation` (see SITUATIONS) and the customer's `emotion`
    (calm/anxious/angry; None = calm), chosen by `seed`, in the brand tone."""
    return get_book().line(situation, emotion, seed=seed, tone=tone)
