"""Label codes used while annotating, and conversion of an annotation sheet to id-keyed labels.

An annotation sheet lists `<n> <intent-code> <emotion-code> [note]` where n is the 1-based
line of data/real/candidates.jsonl (the annotator's view of the messages). `ingest` turns it
into id-keyed rows of data/real/labels_<pass>.tsv so labels survive a re-extraction.

  .venv/bin/python scripts/real_data/labels.py ingest data/real/labelling/pass1_001.txt pass1

The second training batch (scripts/real_data/extract2.py) numbers the lines of
data/real/candidates_2.jsonl and writes data/real/labels_2_<pass>.tsv:

  .venv/bin/python scripts/real_data/labels.py ingest \
      data/real/labelling/pass1_batch2_001.txt pass1 --batch 2

`sample --batch 2` prints the second-pass sheet (seeded 20 % sample, shuffled, text only);
batch 2 was labelled in two slices (lines 1-640, then 641-700), sampled separately:

  .venv/bin/python scripts/real_data/labels.py sample --batch 2 1-640 2026
  .venv/bin/python scripts/real_data/labels.py sample --batch 2 641-700 2027
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Dict

INTENT_CODES: Dict[str, str] = {
    "gr": "greet",
    "bye": "goodbye",
    "thx": "thank",
    "aff": "affirm",
    "deny": "deny",
    "den": "deny",
    "inf": "inform",
    "qos": "query_order_status",
    "trk": "track_logistics",
    "ship": "ask_shipping_time",
    "urge": "urge_delivery",
    "addr": "change_address",
    "canc": "cancel_order",
    "ret": "request_return",
    "ref": "request_refund",
    "exch": "request_exchange",
    "rprog": "query_refund_progress",
    "qual": "report_quality_issue",
    "size": "ask_size",
    "pq": "product_question",
    "use": "ask_usage",
    "promo": "ask_promotion",
    "inv": "ask_invoice",
    "whole": "wholesale_inquiry",
    "human": "request_human",
    "comp": "complain",
    "rate": "rate_service",
    "oos": "out_of_scope",
    "faq": "faq",
    "DROP": "DROP",
}
EMOTION_CODES = {"c": "calm", "x": "anxious", "a": "angry", "-": ""}

ROOT = Path(__file__).resolve().parents[2]


def decode_intent(code: str) -> str:
    if code.startswith("f:"):
        return "faq/" + code[2:]
    return INTENT_CODES[code]


def ingest(sheet: str, pass_name: str, batch: str = "1") -> None:
    suffix = "" if batch == "1" else f"_{batch}"
    ids = [
        json.loads(line)["id"]
        for line in open(ROOT / f"data/real/candidates{suffix}.jsonl", encoding="utf-8")
    ]
    out = ROOT / f"data/real/labels{suffix}_{pass_name}.tsv"
    rows: Dict[str, list] = {}
    if out.exists():
        with open(out, encoding="utf-8") as f:
            for r in csv.reader(f, delimiter="\t"):
                if r and r[0] != "id":
                    rows[r[0]] = r
    for line in open(sheet, encoding="utf-8"):
        parts = line.split(maxsplit=3)
        if len(parts) < 3:
            continue
        n, icode, ecode = int(parts[0]), parts[1], parts[2]
        note = parts[3].strip() if len(parts) > 3 else ""
        mid = ids[n - 1]
        rows[mid] = [mid, decode_intent(icode), EMOTION_CODES[ecode], note]
    order = {mid: i for i, mid in enumerate(ids)}
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["id", "intent", "emotion", "note"])
        for mid in sorted(rows, key=lambda m: order.get(m, 10**9)):
            w.writerow(rows[mid])
    print(f"{out}: {len(rows)} labels")


def sample(batch: str, share: float = 0.2, seed: int = 2026, lines_range: str = "") -> None:
    """Print the second-pass sheet: a seeded random share of the batch's messages (of lines
    A-B only if given), shuffled, text only (no first-pass labels), as `<line> <text>`."""
    import random

    suffix = "" if batch == "1" else f"_{batch}"
    rows = [
        json.loads(line)
        for line in open(ROOT / f"data/real/candidates{suffix}.jsonl", encoding="utf-8")
    ]
    lines = list(range(1, len(rows) + 1))
    if lines_range:
        first, last = (int(x) for x in lines_range.split("-"))
        lines = [n for n in lines if first <= n <= last]
    rng = random.Random(seed)
    picked = rng.sample(lines, round(share * len(lines)))
    for n in picked:  # rng.sample's order is already shuffled
        print(n, rows[n - 1]["text"])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "ingest":
        ingest(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "ingest" and sys.argv[4] == "--batch":
        ingest(sys.argv[2], sys.argv[3], sys.argv[5])
    elif len(sys.argv) == 4 and sys.argv[1] == "sample" and sys.argv[2] == "--batch":
        sample(sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "sample" and sys.argv[2] == "--batch":
        # sample --batch 2 <first>-<last> <seed>: a later slice of the batch
        sample(sys.argv[3], seed=int(sys.argv[5]), lines_range=sys.argv[4])
    else:
        sys.exit(__doc__)
