"""Cost of the brand tone and compliance guard: BrandNLG against Rasa's own templated NLG
over every domain response (prints microseconds per response; a benchmark, not a test).

    .venv/bin/python scripts/bench_brand.py
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rasa.core.nlg import TemplatedNaturalLanguageGenerator  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from brand.nlg import BrandNLG  # noqa: E402
from brand.tone import Tone  # noqa: E402

TONES = ("热情", "专业", "清新")


def main(rounds: int = 50) -> None:
    domain = Domain.load(str(ROOT / "domain.yml"))
    slots = DialogueStateTracker.from_events("bench", [], slots=domain.slots).current_slot_values()
    actions = list(domain.responses)

    def per_call(nlg: TemplatedNaturalLanguageGenerator) -> float:
        start = time.perf_counter()
        for _ in range(rounds):
            for action in actions:
                nlg.generate_from_slots(action, slots, "rest")
        return (time.perf_counter() - start) / (rounds * len(actions)) * 1e6

    logging.getLogger("rasa.core.nlg.interpolator").setLevel(logging.CRITICAL)
    plain = TemplatedNaturalLanguageGenerator(domain.responses)
    per_call(plain)  # warm up
    base = per_call(plain)
    for name in TONES:
        brand = BrandNLG(domain=domain, tone=Tone.from_file(name=name))
        extra = per_call(brand) - base
        print(f"tone {name}: Rasa templated NLG {base:.1f} µs/response, brand NLG +{extra:.1f} µs")


if __name__ == "__main__":
    main()
