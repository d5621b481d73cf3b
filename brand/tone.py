"""Brand tone: rewrites the wording of outgoing texts per the shop's setting (brand/tone.yml).

`apply(text)` uses the process-wide tone (loaded once; env BRAND_TONE, BRAND_EMOJI,
BRAND_TONE_FILE). Texts are written in the 热情 style; a tone only changes how the customer
is addressed, sentence-final particles, "~", emoji and a few whole phrases. Everything that
carries meaning (numbers, codes, amounts, dates, URLs, e-mails, 「」 texts) is masked first
and put back unchanged.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple, Union

import emoji as emoji_lib
from pydantic import StrictBool, StrictStr, conint, validator

from service_common.config import At, ConfigError, Model, Text, parse, read_yaml
from service_common.settings import ENVIRONMENT

DEFAULT_TONE_PATH = Path(__file__).resolve().parent / "tone.yml"
TONE_ENV = "BRAND_TONE"
EMOJI_ENV = "BRAND_EMOJI"
FILE_ENV = "BRAND_TONE_FILE"
SWITCH_WORDS = {"on": True, "off": False}

# Full-width punctuation is spelled as escapes: editors and tools silently turn "，" into ",".
COMMAS = ",\uff0c\u3001"  # , ， 、
STOPS = "\u3002!\uff01?\uff1f;\uff1b"  # 。 ! ！ ? ？ ; ；
SENTENCE_PUNCT = COMMAS + STOPS + ".:\uff1a~\uff5e\u2026"  # . : ： ~ ～ …
OPENERS = "(\uff08"  # ( （
CLOSERS = ")\uff09\u300d\u3011\u300b\u201d"  # ) ） 」 】 》 ”
TILDES = "~\uff5e"

# Masked before any rule runs and restored verbatim: quoted names (「」【】《》“”),
# URLs, e-mails, and runs of ASCII letters/digits with their separators (order and tracking
# numbers, ¥458.00, 9:00-24:00, 138****5678, 2024-11-24).
PROTECTED = re.compile(
    "\u300c[^\u300d]*\u300d|\u3010[^\u3011]*\u3011|\u300a[^\u300b]*\u300b|\u201c[^\u201d]*\u201d"
    # A URL may hold ? ! ; ~ but not Chinese text, full-width punctuation, "," or ")".
    r"|(?:https?://|www\.)[^\s,)\u3002\uff0c\u3001\uff01\uff1f\uff1b\uff1a\uff09"
    r"\u300d\u3011\u300b\u201d\u4e00-\u9fff]+"
    r"|[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
    # ... but not the digit of a keycap emoji (1️⃣), which the emoji rules handle.
    r"|[\u00a5\uffe5$]?[A-Za-z0-9](?:[A-Za-z0-9.:/_%+*\-]*[A-Za-z0-9%*])?(?![\ufe0f\u20e3])"
)
# One private-use character stands for each masked span (a single character keeps every
# look-around of the rules simple, and no rule matches it).
MASK_BASE = 0xE000
MASK_LIMIT = 0x1800
MASK = re.compile("[\ue000-\uf7ff]")

EMOJI_CHARS = "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B50\u2B55\u231A\u231B\u23E9-\u23F3\u3030\u303D"
# What may follow a sentence-final particle or a form of address. Not a space: in the
# texts a space separates data ("新的收货信息:张哈 138..."), never a particle from what follows.
BOUNDARY = "(?=$|[\\n" + re.escape(SENTENCE_PUNCT + OPENERS + CLOSERS) + EMOJI_CHARS + "])"
TITLED = re.compile(r"(?:先生|女士)")
# 亲 ending a word is not a form of address (母亲, 父亲, 乡亲, 相亲 ... 最亲的人).
NOT_ADDRESS_BEFORE = "母父双乡相探省成定提求娘姻血近至表宗最很亲"
VOCATIVE_START = re.compile(
    "(?:^|(?<=[\n" + re.escape(STOPS + TILDES) + "]))[ \t]*\u4eb2{1,2}"
    "(?:[" + re.escape(COMMAS + TILDES) + "!\uff01 \t]+|(?=[\u60a8\u4f60]))")
VOCATIVE_AFTER = re.compile(
    "(?<=[\u4e00-\u9fff])(?<![" + NOT_ADDRESS_BEFORE + "])\u4eb2{1,2}" + BOUNDARY)
POSSESSIVE = re.compile("(?<![" + NOT_ADDRESS_BEFORE + "])\u4eb2{1,2}\u7684")  # 亲的
TILDE = re.compile("[" + TILDES + "]+[ \t]*")
# Two-character words ending in a particle character that are not particles.
NOT_PARTICLES = ("毛呢", "花呢", "格呢", "粗呢")
_C, _S = re.escape(COMMAS), re.escape(STOPS)
TIDY = (
    (re.compile(f"[{_C}]+[ \\t]*(?=[{_S}])"), ""),  # ",。" -> "。"
    (re.compile(f"([{_S}])[ \\t]*[{_C}\u3002;\uff1b]+"), r"\1"),  # "。。" "。," "!。" -> first
    (re.compile(f"([{_C}])[ \\t]*[{_C}]+"), r"\1"),  # ",," -> ","
    (re.compile(f"^[ \\t]*[{_C}{_S}]+[ \\t]*"), ""),  # nothing before a leading comma
    (re.compile(f"(?<=[\\n{_C}{_S}])[ \\t]+(?=\\S)"), ""),  # no space after CJK punctuation
)
DANGLING = re.compile(f"[{_C};\uff1b][ \\t]*$")


@dataclass(frozen=True)
class ToneStyle:
    """One tone's rewriting rules, as loaded from the file. The defaults change nothing."""

    name: str
    note: str = ""
    address: str = "亲"
    particles: Tuple[Tuple[str, str], ...] = ()
    tilde: str = "~"
    max_emoji: Optional[int] = None  # None: no limit
    emoji_map: Tuple[Tuple[str, str], ...] = ()
    phrases: Tuple[Tuple[str, str], ...] = ()

    @property
    def is_identity(self) -> bool:
        return (self.address == "亲" and not self.particles and self.tilde == "~"
                and self.max_emoji is None and not self.emoji_map and not self.phrases)


class Tone:
    """A tone style plus the shop's emoji switch; `apply` rewrites one text.

    Thread-safe: everything is compiled in the constructor and never changed afterwards.
    """

    def __init__(self, style: ToneStyle, emoji: bool = True, source: str = "<tone>") -> None:
        self.style = style
        self.emoji = emoji
        self.source = source
        self.max_emoji: Optional[int] = style.max_emoji if emoji else 0
        self.identity = style.is_identity and emoji
        self._phrases = [(src, dst) for src, dst in style.phrases]
        self._particles = dict(style.particles)
        self._particle_re = (
            re.compile("([" + "".join(map(re.escape, self._particles)) + "]+)" + BOUNDARY)
            if self._particles else None)
        self._emoji_map = {_emoji_key(src): dst for src, dst in style.emoji_map}

    @property
    def name(self) -> str:
        return self.style.name

    def __repr__(self) -> str:
        return f"Tone({self.name!r}, emoji={'on' if self.emoji else 'off'})"

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_file(cls, path: Union[str, Path, None] = None, name: Optional[str] = None,
                  emoji: Optional[bool] = None) -> Tone:
        """Load a tone file; `name`/`emoji` override the file's `tone`/`emoji` settings."""
        tone_path = Path(path) if path is not None else DEFAULT_TONE_PATH
        data, text = read_yaml(tone_path)
        return cls.from_dict(data, str(tone_path), name, emoji, text)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<tone>", name: Optional[str] = None,
                  emoji: Optional[bool] = None, text: Optional[str] = None) -> Tone:
        spec = parse(data, ToneFile, source, text)
        chosen = spec.tone if name is None else name
        if chosen not in spec.tones:
            raise ConfigError(source, f"unknown tone {chosen!r}; the file defines "
                              f"{sorted(spec.tones)}")
        switch = bool(spec.emoji) if emoji is None else emoji
        return cls(_style(chosen, spec.tones[chosen]), switch, source)

    # ------------------------------------------------------------------ rewriting

    def apply(self, text: str, *, title: bool = False) -> str:
        """`text` in this tone. `title=True` for button titles: no particle rules and no
        sentence-ending punctuation is added."""
        if not text or self.identity:
            return text
        masked, spans = _mask(text)
        if masked is None:
            return text
        out = masked
        for src, dst in self._phrases:
            out = out.replace(src, dst)
        out = self._address(out)
        if self._particle_re is not None and not title:
            out = self._particle_re.sub(self._particle, out)
        if self.style.tilde != "~":
            out = TILDE.sub(lambda m: self._tilde(m, title), out)
        out = self._emoji(out, title)
        if out != masked:
            out = _tidy(out, title)
        return _unmask(out, spans)

    def _address(self, text: str) -> str:
        address = self.style.address
        if address == "亲":
            return text
        text = POSSESSIVE.sub(address + "的", text)
        text = VOCATIVE_START.sub("", text)
        text = VOCATIVE_AFTER.sub("", text)
        if address == "你":
            # 「王先生您好」 must not become 「王先生你好」: a title keeps the polite form.
            return text if TITLED.search(text) else text.replace("您", "你")
        return text.replace("你", "您")

    def _particle(self, match: re.Match) -> str:
        run = match.group(1)
        if match.string[max(match.start() - 1, 0):match.start() + 1] in NOT_PARTICLES:
            return run
        # "哈哈" -> one replacement, not two.
        parts: List[str] = []
        for char in run:
            replacement = self._particles[char]
            if not parts or parts[-1] != replacement:
                parts.append(replacement)
        return "".join(parts)

    def _tilde(self, match: re.Match, title: bool) -> str:
        rest = match.string[match.end():]
        before = match.string[:match.start()].rstrip(" \t")
        if not before or before[-1] in SENTENCE_PUNCT or before[-1] == "\n":
            return ""
        if not rest:
            return "" if title else self.style.tilde
        if rest[0] in SENTENCE_PUNCT or rest[0] in CLOSERS or rest[0] == "\n":
            return ""
        return self.style.tilde

    def _emoji(self, text: str, title: bool) -> str:
        limit = self.max_emoji
        if limit is None and not self._emoji_map:
            return text
        kept = 0
        parts: List[str] = []
        last = 0
        for start, end in _emoji_spans(text):
            parts.append(text[last:start])
            last = end
            raw = text[start:end]
            emoji = raw.rstrip(" \t")
            space = raw[len(emoji):]
            emoji = self._emoji_map.get(_emoji_key(emoji), emoji)
            if limit is None or kept < limit:
                kept += 1
                parts.append(emoji + space)
                continue
            parts.append(_emoji_gap("".join(parts), text[end:], bool(space), title))
        parts.append(text[last:])
        return "".join(parts)


def _emoji_gap(before: str, after: str, spaced: bool, title: bool) -> str:
    """What stands where a removed emoji was: the emoji often ends a sentence."""
    head = before.rstrip(" \t")
    if not head or head[-1] in SENTENCE_PUNCT or head[-1] == "\n":
        return ""
    if not after:
        return "" if title else "。"
    if after[0] in SENTENCE_PUNCT or after[0] in CLOSERS or after[0] == "\n":
        return ""
    if spaced:
        return " " if title else "。"
    return ""


def _emoji_spans(text: str) -> List[Tuple[int, int]]:
    """Where the emoji are (with the spaces after them), by the Unicode emoji list.

    ★ and ✓ are symbols, not emoji; keycaps (1️⃣) and ZWJ families are. ©, ®, ™ count only in
    their emoji form (with U+FE0F), so brand names keep them.
    """
    spans = []
    for item in emoji_lib.emoji_list(text):
        start, end = item["match_start"], item["match_end"]
        if item["emoji"] in ("\u00a9", "\u00ae", "\u2122"):
            continue
        while end < len(text) and text[end] in " \t":
            end += 1
        spans.append((start, end))
    return spans


def _emoji_key(emoji: str) -> str:
    return emoji.replace("\ufe0f", "")


def _mask(text: str) -> Tuple[Optional[str], List[str]]:
    spans: List[str] = []

    def keep(match: re.Match) -> str:
        spans.append(match.group())
        return chr(MASK_BASE + len(spans) - 1)

    if MASK.search(text):
        return None, spans  # private-use characters in the text itself: leave it alone
    masked = PROTECTED.sub(keep, text)
    if len(spans) > MASK_LIMIT:
        return None, spans
    return masked, spans


def _unmask(text: str, spans: List[str]) -> str:
    if not spans:
        return text
    return MASK.sub(lambda m: spans[ord(m.group()) - MASK_BASE], text)


def _tidy(text: str, title: bool) -> str:
    for pattern, replacement in TIDY:
        text = pattern.sub(replacement, text)
    text = DANGLING.sub("" if title else "。", text)
    return text.strip(" \t")


# ---------------------------------------------------------------------- the file


def _switch(value: Any) -> bool:
    """on/off (YAML also reads unquoted on/off as true/false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in SWITCH_WORDS:
        return SWITCH_WORDS[value.strip().lower()]
    raise ValueError(f"must be on or off, not {value!r}")


def parse_switch(value: Any, source: str, where: str = "") -> bool:
    try:
        return _switch(value)
    except ValueError as error:
        raise ConfigError(source, str(error), where) from None


class StyleSpec(Model):
    note: StrictStr = ""
    address: Literal["亲", "您", "你"] = "亲"
    particles: Dict[StrictStr, StrictStr] = {}
    tilde: StrictStr = "~"
    max_emoji: Optional[conint(strict=True, ge=0)] = None  # type: ignore[valid-type]
    emoji_map: Dict[StrictStr, StrictStr] = {}
    phrases: Dict[Text, StrictStr] = {}

    @validator("particles")
    def _particles(cls, particles: Dict[str, str]) -> Dict[str, str]:
        for particle in particles:
            if len(particle) != 1 or not _is_han(particle):
                raise At((particle,), "a particle must be one Chinese character")
        return particles

    @validator("emoji_map")
    def _emoji(cls, emoji_map: Dict[str, str]) -> Dict[str, str]:
        for src, dst in emoji_map.items():
            if not emoji_lib.is_emoji(src) or (dst and not emoji_lib.is_emoji(dst)):
                raise At((src,), f"{src!r} -> {dst!r}: both must be one emoji")
        return emoji_map


class ToneFile(Model):
    """brand/tone.yml"""

    version: Literal[1]
    tones: Dict[Text, StyleSpec]  # before `tone`, which must name one of them
    tone: StrictStr
    emoji: Union[StrictBool, Literal["on", "off"]] = True  # a YAML 1.2 editor reads on as text

    _emoji = validator("emoji", pre=True, allow_reuse=True)(_switch)

    @validator("tones")
    def _some(cls, tones: Dict[str, StyleSpec]) -> Dict[str, StyleSpec]:
        if not tones:
            raise ValueError("define at least one tone")
        return tones

    @validator("tone")
    def _defined(cls, tone: str, values: Dict[str, Any]) -> str:
        if "tones" in values and tone not in values["tones"]:
            raise ValueError(f"must be one of {sorted(values['tones'])}, not {tone!r}")
        return tone


def _is_han(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


def _style(name: str, spec: StyleSpec) -> ToneStyle:
    return ToneStyle(name=name, note=spec.note, address=spec.address,
                     particles=tuple(spec.particles.items()), tilde=spec.tilde,
                     max_emoji=spec.max_emoji, emoji_map=tuple(spec.emoji_map.items()),
                     phrases=tuple(spec.phrases.items()))


# ---------------------------------------------------------------------- process-wide tone


def load_tone(env: Optional[Mapping[str, str]] = None) -> Tone:
    """The tone the environment asks for: BRAND_TONE_FILE, BRAND_TONE, BRAND_EMOJI."""
    env = os.environ if env is None else env
    name = env.get(TONE_ENV) or None
    emoji_value = env.get(EMOJI_ENV)
    emoji = parse_switch(emoji_value, ENVIRONMENT, EMOJI_ENV) if emoji_value else None
    try:
        return Tone.from_file(env.get(FILE_ENV) or None, name=name, emoji=emoji)
    except ConfigError as error:
        if name is not None and "unknown tone" in error.problem:
            raise ConfigError(error.source, f"{error.problem} (from the environment)",
                              TONE_ENV) from None
        raise


@cache
def get_tone() -> Tone:
    """The process-wide tone, loaded once (call `get_tone.cache_clear()` to reload)."""
    return load_tone()


def apply(text: str, *, title: bool = False) -> str:
    """`text` in the shop's brand tone (see brand/tone.yml)."""
    return get_tone().apply(text, title=title)
