"""`python -m knowledge` as a subprocess, and the compliance lint of the sample documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from knowledge.config import PROJECT_ROOT


def run(args: List[str], env: Optional[Dict[str, str]] = None,
        cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    child_env = {key: value for key, value in os.environ.items()
                 if not key.startswith("KNOWLEDGE_")}
    child_env.update({"PYTHONPATH": str(PROJECT_ROOT), **(env or {})})
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=child_env,
                          capture_output=True, text=True, timeout=120)


def test_ingest_then_search_through_the_environment(tmp_path: Path, docs_copy: Path) -> None:
    env = {"KNOWLEDGE_DB": str(tmp_path / "k.sqlite"), "KNOWLEDGE_DOCS": str(docs_copy)}

    first = run(["knowledge", "ingest"], env)
    again = run(["knowledge", "ingest"], env)
    answered = run(["knowledge", "search", "涂层耐刮吗", "--product", "P5001"], env)
    unanswered = run(["knowledge", "search", "能烤蛋糕吗", "--product", "P5001"], env)

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(
        "added 7, updated 0, unchanged 0, removed 0, failed 0, ignored 0; index: 7 documents")
    assert again.stdout.startswith("added 0, updated 0, unchanged 7, removed 0")
    assert answered.returncode == 0, answered.stderr
    assert "answer: 悦家 5L空气炸锅 > 常见问题 > 内胆涂层耐刮吗?" in answered.stdout
    assert "source: docs/products/air_fryer_P5001.html#内胆涂层耐刮吗?" in answered.stdout
    assert unanswered.returncode == 1
    assert "no answer" in unanswered.stdout and "human agent" in unanswered.stdout


def test_folders_and_db_on_the_command_line(tmp_path: Path, docs_copy: Path) -> None:
    db = tmp_path / "cli.sqlite"
    (docs_copy / "bad.html").write_bytes(b"\x00\x01binary")

    result = run(["knowledge", "ingest", str(docs_copy), str(tmp_path / "missing"),
                  "--db", str(db)], cwd=tmp_path)
    search = run(["knowledge", "search", "退货运费谁出", "--db", str(db), "--json"],
                 cwd=tmp_path)

    assert result.returncode == 1  # some input failed; the rest is in the index
    assert "added 7" in result.stdout and "failed 1" in result.stdout
    assert "knowledge ingest: docs/bad.html: binary file, not a text document" in result.stderr
    assert f"knowledge ingest: {tmp_path / 'missing'}: no such folder" in result.stderr
    assert search.returncode == 0, search.stderr
    payload = json.loads(search.stdout)
    assert payload["terms"] == ["退货", "运费"]
    assert payload["answer"]["source"] == "docs/policies/退换货流程.md#不同问题怎么处理"
    assert payload["answer"]["product_id"] is None
    assert len(payload["hits"]) <= 3


def test_search_without_an_index_says_how_to_make_one(tmp_path: Path) -> None:
    result = run(["knowledge", "search", "保修多久", "--db", str(tmp_path / "none.sqlite")])
    assert result.returncode == 2
    assert "no knowledge index" in result.stderr and "python -m knowledge ingest" in result.stderr


def test_ingest_into_an_unusable_database_fails_cleanly(tmp_path: Path, docs_copy: Path) -> None:
    not_a_db = tmp_path / "text.sqlite"
    not_a_db.write_text("not sqlite", encoding="utf-8")
    result = run(["knowledge", "ingest", str(docs_copy), "--db", str(not_a_db)])
    assert result.returncode == 2
    assert result.stderr.startswith("knowledge ingest: ") and "Traceback" not in result.stderr


def test_sample_documents_pass_the_compliance_lint() -> None:
    result = run(["compliance", "lint", "knowledge"])
    assert result.returncode == 0, result.stdout + result.stderr
