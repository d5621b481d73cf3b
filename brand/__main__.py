"""Try the brand tone on a sentence: `python -m brand "亲,您好!有问题随时问我哦~"`.

Uses the same settings as the servers (brand/tone.yml, BRAND_TONE, BRAND_EMOJI), or
`--tone`/`--emoji` to compare; `--all` shows every tone of the file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from brand.tone import DEFAULT_TONE_PATH, FILE_ENV, Tone, ToneFile, load_tone, parse_switch
from service_common.config import ConfigError, load_yaml
from service_common.settings import env_str


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brand", description=__doc__)
    parser.add_argument("text", nargs="+", help="text(s) to rewrite")
    parser.add_argument("--tone", help="tone name (default: BRAND_TONE or the file's tone)")
    parser.add_argument("--emoji", choices=["on", "off"], help="emoji switch")
    parser.add_argument("--all", action="store_true", help="show every tone of the file")
    args = parser.parse_args(argv)
    try:
        tones = _tones(args.tone, args.emoji, args.all)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for text in args.text:
        for tone in tones:
            print(f"{tone.name}: {tone.apply(text)}")
    return 0


def _tones(name: Optional[str], emoji: Optional[str], every: bool) -> List[Tone]:
    switch = parse_switch(emoji, "--emoji") if emoji else None
    if not every and name is None and switch is None:
        return [load_tone()]
    path = Path(env_str(FILE_ENV) or DEFAULT_TONE_PATH)
    if not every:
        return [Tone.from_file(path, name=name, emoji=switch)]
    names = load_yaml(path, ToneFile).tones
    return [Tone.from_file(path, name=tone, emoji=switch) for tone in names]


if __name__ == "__main__":
    sys.exit(main())
