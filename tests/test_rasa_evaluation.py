"""`rasa test` on the held-out NLU set (F1 floors) and on the test stories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
MODEL = ROOT / "models" / "shop.tar.gz"
INTENT_MACRO_F1_FLOOR = 0.90
ENTITY_F1_FLOOR = {"order_id": 0.95, "phone_tail": 0.95}
ENTITY_EXTRACTOR = "AnnotatedCRFEntityExtractor"  # the learnt one in config.yml

def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """One `rasa test` run for NLU and stories: loading the model alone takes minutes."""
    assert MODEL.exists(), "no trained model: `make test` trains it; run `make train` first"
    out = tmp_path_factory.mktemp("rasa-test")
    result = rasa("test", "--model", str(MODEL), "--nlu", "tests/nlu/heldout.yml",
                  "--stories", "tests/stories", "--out", str(out), "--no-plot",
                  "--fail-on-prediction-errors", "--successes")
    (out / "returncode").write_text(str(result.returncode))
    (out / "output.txt").write_text(result.stdout[-5000:] + result.stderr[-5000:])
    return out


@pytest.fixture(scope="module")
def nlu_results(results) -> Path:
    # Core tests run first; a story prediction error stops the command before NLU.
    assert (results / "intent_report.json").exists(), (results / "output.txt").read_text()
    return results


def test_intent_macro_f1_on_held_out_set(nlu_results):
    report = json.loads((nlu_results / "intent_report.json").read_text())
    macro = report["macro avg"]["f1-score"]
    weak = {name: round(v["f1-score"], 2) for name, v in report.items()
            if isinstance(v, dict) and "f1-score" in v and v["f1-score"] < 0.8}
    print(f"intent macro F1 = {macro:.3f}; weak intents: {weak}")
    assert macro >= INTENT_MACRO_F1_FLOOR, weak


def pipeline_entity_f1(results: Path, entity: str) -> float:
    """F1 of what the whole pipeline delivers for one entity type (the CRF's entities after
    the format filter, plus the filter's whole-message and cued values), over every
    held-out message: rasa reports each extractor on its own, but every message's record
    lists the entities of all extractors."""
    # A message with one right and one wrong entity is in both files: count it once.
    records = {record["text"]: record
               for name in (f"{ENTITY_EXTRACTOR}_errors.json",
                            f"{ENTITY_EXTRACTOR}_successes.json")
               for record in json.loads((results / name).read_text())}
    tp = fp = fn = 0
    for record in records.values():
        gold = {(e["start"], e["end"], e["value"]) for e in record.get("entities") or []
                if e["entity"] == entity}
        found = {(e["start"], e["end"], e["value"]) for e in record.get("predicted_entities") or []
                 if e["entity"] == entity}
        tp, fp, fn = tp + len(gold & found), fp + len(found - gold), fn + len(gold - found)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def test_order_and_phone_entity_f1_on_held_out_set(nlu_results):
    for entity, floor in ENTITY_F1_FLOOR.items():
        f1 = pipeline_entity_f1(nlu_results, entity)
        print(f"{entity} F1 = {f1:.3f}")
        assert f1 >= floor, entity


def test_faq_response_selection_on_held_out_set(nlu_results):
    report = json.loads((nlu_results / "response_selection_report.json").read_text())
    print(f"faq response selection weighted F1 = {report['weighted avg']['f1-score']:.3f}")
    assert report["weighted avg"]["f1-score"] >= 0.85


def test_stories_predict_without_errors(results):
    failed = results / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    report = json.loads((results / "story_report.json").read_text())
    print(f"test stories: conversation accuracy {report['conversation_accuracy']}")
    assert "- story:" not in details, details[-4000:]
    assert report["conversation_accuracy"]["accuracy"] == 1.0
    assert (results / "returncode").read_text() == "0", (results / "output.txt").read_text()


# Real customer messages (tests/nlu/real_heldout.yml, held-out part of the real split:
# public e-commerce corpora, never trained on). The target is 0.85 accuracy; the
# measured figure is far below (docs/nlu_experiments.md), so the target is a strict
# expected failure and a guard holds the measured level.
REAL_ACCURACY_TARGET = 0.85
REAL_ACCURACY_GUARD = 0.62  # measured 0.660 (2026-12-06, with the sentence embedding)


@pytest.fixture(scope="module")
def real_results(tmp_path_factory) -> dict:
    assert MODEL.exists(), "no trained model: `make test` trains it; run `make train` first"
    out = tmp_path_factory.mktemp("rasa-test-real")
    result = rasa("test", "nlu", "--model", str(MODEL), "--nlu", "tests/nlu/real_heldout.yml",
                  "--out", str(out), "--no-plot")
    assert (out / "intent_report.json").exists(), result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "intent_report.json").read_text())
    print(f"real held-out: intent accuracy {report['accuracy']:.3f}, "
          f"macro F1 {report['macro avg']['f1-score']:.3f}")
    return report


def test_real_messages_regression_guard(real_results):
    assert real_results["accuracy"] >= REAL_ACCURACY_GUARD


@pytest.mark.xfail(strict=True, reason="issue 16 target not reached: see docs/nlu_experiments.md")
def test_real_messages_intent_accuracy_target(real_results):
    assert real_results["accuracy"] >= REAL_ACCURACY_TARGET
