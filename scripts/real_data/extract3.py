"""Third training batch: the customer turns of the NTCIR-14 STC-3 Chinese *training* dialogues.

Batch 1 used the 390 STC-3 test dialogues (as held-out and training material); the 3,700
training dialogues were not in the mirror used then. They are in the official dataset archive
(`data.zip` of sakai-lab/stc3-dataset, mirrored as SB233/stc3-dataset). The same selection
rule as batch 1 (`extract.stc3_select`: shop topics kept, telecom/travel/app dialogues dropped)
picks the dialogues; every customer turn of a picked dialogue becomes a candidate, except a turn
whose text (masked, normalised) equals a held-out real text, a message of batches 1-2, an
example already in `data/nlu/*.yml` or the emotion training data, or an earlier turn of this
batch. The whole batch is **training** material: STC-3 training and test dialogues are disjoint
(no shared id; texts equal to held-out ones are removed as above).

Writes data/real/candidates_3.jsonl, data/real/provenance_3.json and, for the annotators,
numbered views of the messages in dialogue order (earlier customer turns visible above each
message, as in batch 1) to --views (not committed; `make_views` rebuilds them).

Usage:
  .venv/bin/python scripts/real_data/extract3.py \
      --stc3-dataset /work/.mirror/SB233+stc3-dataset/repo/.git --views /tmp/batch3 --slices 6
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Dict, List

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import git_head, git_show, stc3_select  # noqa: E402
from extract2 import normalize, taken_texts  # noqa: E402
from mask import mask_personal  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BATCH = 3


def load_train(git_dir: str) -> List[Dict]:
    with zipfile.ZipFile(io.BytesIO(git_show(git_dir, "data.zip"))) as z:
        return json.loads(z.read("data/train_data_cn.json").decode("utf-8"))


def candidates(dialogues: List[Dict]) -> List[Dict]:
    taken = taken_texts(BATCH)
    for name in ("messages.yml", "messages_2.yml"):
        data = yaml.safe_load((ROOT / "data/real" / name).read_text(encoding="utf-8"))
        taken.update(normalize(m["text"]) for m in data["messages"])
    out = []
    for d in dialogues:
        for k, text in enumerate(d["session"], start=1):
            masked = mask_personal(text)
            key = normalize(masked)
            if not key or key in taken:
                continue
            taken.add(key)
            out.append(
                {
                    "id": f"{d['dialogue']}-c{k}",
                    "source": "stc3_train",
                    "dialogue": d["dialogue"],
                    "turn": k,
                    "in_session": True,
                    "text": masked,
                    "cell": "stc3_train",
                }
            )
    return out


def make_views(rows: List[Dict], folder: Path, slices: int) -> None:
    """Numbered annotator views (line n = line n of candidates_3.jsonl), cut at dialogue
    boundaries into `slices` files of about equal size."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(rows) // slices)
    part, count, out = 1, 0, None
    previous = None
    for n, r in enumerate(rows, start=1):
        if r["dialogue"] != previous:
            if out is None or count >= size:
                if out:
                    out.close()
                out = open(folder / f"view_{part:03d}.txt", "w", encoding="utf-8")
                part, count = part + 1, 0
            out.write(f"\n## {r['dialogue']}\n")
            previous = r["dialogue"]
        out.write(f"{n}\t{r['text']}\n")
        count += 1
    if out:
        out.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--stc3-dataset", required=True, help="git dir of SB233/stc3-dataset")
    ap.add_argument("--out", default=str(ROOT / "data/real"))
    ap.add_argument("--views", help="folder for the annotators' numbered views")
    ap.add_argument("--slices", type=int, default=6)
    args = ap.parse_args()
    data = load_train(args.stc3_dataset)
    dialogues = stc3_select(data)
    rows = candidates(dialogues)
    out = Path(args.out)
    with open(out / f"candidates_{BATCH}.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    provenance = {
        "stc3_train": {
            "repo": "SB233/stc3-dataset (mirror of sakai-lab/stc3-dataset)",
            "commit": git_head(args.stc3_dataset),
            "paths": ["data.zip: data/train_data_cn.json"],
        }
    }
    (out / f"provenance_{BATCH}.json").write_text(
        json.dumps(provenance, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(
        f"{len(data)} training dialogues, {len(dialogues)} on shop topics; "
        f"wrote {len(rows)} messages to {out / f'candidates_{BATCH}.jsonl'}"
    )
    if args.views:
        make_views(rows, Path(args.views), args.slices)


if __name__ == "__main__":
    main()
