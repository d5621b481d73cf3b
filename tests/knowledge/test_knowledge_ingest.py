"""Incremental ingest into SQLite, bad input, and readers noticing a new ingest."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from knowledge import KnowledgeIndex, StoreError, ingest
from knowledge.config import PROJECT_ROOT
from knowledge.store import Store
from knowledge.tokens import Tokenizer

AIR_FRYER_PAGE = "products/air_fryer_P5001.html"
INVOICE_SOP = "policies/发票说明.md"


def counts(report) -> tuple:
    return (report.added, report.updated, report.unchanged, report.removed, report.failed,
            report.ignored)


def test_reingest_adds_updates_skips_and_removes_exactly(
        docs_copy: Path, tmp_path: Path, tokenizer: Tokenizer) -> None:
    db = tmp_path / "knowledge.sqlite"
    first = ingest([docs_copy], db, tokenizer)
    assert counts(first) == (7, 0, 0, 0, 0, 0) and first.problems == []

    again = ingest([docs_copy], db, tokenizer)
    assert counts(again) == (0, 0, 7, 0, 0, 0) and not again.changed

    page = docs_copy / AIR_FRYER_PAGE
    page.write_text(page.read_text(encoding="utf-8").replace(
        "内胆是食品级不粘涂层(不含PFOA),日常使用硅胶夹或木铲不会刮伤。",
        "内胆是食品级不粘涂层,建议使用硅胶夹取食物。"), encoding="utf-8")
    (docs_copy / INVOICE_SOP).unlink()
    (docs_copy / "policies" / "会员说明.md").write_text(
        "# 会员说明\n\n## 积分抵扣\n\n每消费1元积1分,下单时100积分可抵扣1元。\n",
        encoding="utf-8")
    index_before = KnowledgeIndex.open(db, tokenizer)

    report = ingest([docs_copy], db, tokenizer)

    assert counts(report) == (1, 1, 5, 1, 0, 0)
    assert index_before.stale()
    index = index_before.refreshed()
    assert index is not index_before and not index.stale()
    coating = index.answer("涂层耐刮吗", "P5001")
    assert coating is not None
    assert coating.text.startswith("内胆是食品级不粘涂层,建议使用硅胶夹取食物。")
    assert not any(INVOICE_SOP in hit.source for hit in index.search("怎么开发票", top_k=50))
    points = index.answer("积分怎么抵扣")
    assert points is not None and points.source == "docs/policies/会员说明.md#积分抵扣"
    # An index already open keeps answering from its snapshot until it is refreshed.
    old = index_before.answer("怎么开发票")
    assert old is not None and INVOICE_SOP in old.source


def test_documents_table_records_hash_mtime_and_ingest_time(
        docs_copy: Path, tmp_path: Path, tokenizer: Tokenizer) -> None:
    db = tmp_path / "k.sqlite"
    ingest([docs_copy], db, tokenizer)
    page = docs_copy / AIR_FRYER_PAGE
    os.utime(page, (1_700_000_000, 1_700_000_000))  # touched, same content

    report = ingest([docs_copy], db, tokenizer)

    assert report.unchanged == 7 and not report.changed
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT sha256, mtime, ingested_at, title, product_id FROM documents WHERE path = ?",
            (AIR_FRYER_PAGE,)).fetchone()
        passages = connection.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    sha256, mtime, ingested_at, title, product_id = row
    assert len(sha256) == 64 and mtime == 1_700_000_000
    assert ingested_at.endswith("+00:00")
    assert (title, product_id) == ("悦家 5L空气炸锅", "P5001")
    assert passages == len(KnowledgeIndex.open(db, tokenizer))


def test_bad_files_are_reported_and_the_rest_is_ingested(
        docs_copy: Path, tmp_path: Path, tokenizer: Tokenizer) -> None:
    (docs_copy / "broken.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (docs_copy / "empty.md").write_text("", encoding="utf-8")
    (docs_copy / "gbk.md").write_bytes("# 说明\n\n保修一年".encode("gbk"))
    (docs_copy / "scripts_only.html").write_text("<script>x()</script>", encoding="utf-8")
    (docs_copy / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    (docs_copy / ".DS_Store").write_bytes(b"\x00\x00")

    report = ingest([docs_copy, tmp_path / "no_such_folder"], tmp_path / "k.sqlite", tokenizer)

    assert counts(report) == (7, 0, 0, 0, 4, 1)
    assert sorted(report.problems) == sorted([
        "docs/broken.html: binary file, not a text document",
        "docs/empty.md: empty file",
        "docs/gbk.md: not UTF-8 text (byte 4); save it as UTF-8",
        "docs/scripts_only.html: no text found (empty or broken document?)",
        f"{tmp_path / 'no_such_folder'}: no such folder (nothing ingested or removed)",
    ])


def test_a_document_that_turns_bad_loses_its_old_passages(
        docs_copy: Path, tmp_path: Path, tokenizer: Tokenizer) -> None:
    db = tmp_path / "k.sqlite"
    ingest([docs_copy], db, tokenizer)
    (docs_copy / INVOICE_SOP).write_bytes(b"")

    report = ingest([docs_copy], db, tokenizer)

    assert (report.failed, report.removed) == (1, 0)
    assert report.problems == [
        "docs/policies/发票说明.md: empty file (its previous passages were removed)"]
    hits = KnowledgeIndex.open(db, tokenizer).search("怎么开发票", top_k=50)
    assert not any(INVOICE_SOP in hit.source for hit in hits)


def test_a_missing_folder_removes_nothing_and_folders_are_independent(
        docs_copy: Path, tmp_path: Path, tokenizer: Tokenizer) -> None:
    db = tmp_path / "k.sqlite"
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "门店.md").write_text("# 门店\n\n## 营业时间\n\n门店每天10:00-22:00营业。\n",
                                   encoding="utf-8")
    assert counts(ingest([docs_copy, extra], db, tokenizer))[:1] == (8,)

    # Re-ingesting only one folder leaves the other one's documents alone.
    assert counts(ingest([extra], db, tokenizer)) == (0, 0, 1, 0, 0, 0)
    shutil.rmtree(docs_copy)
    report = ingest([docs_copy], db, tokenizer)
    assert counts(report) == (0, 0, 0, 0, 0, 0) and "no such folder" in report.problems[0]
    assert Store.open(db).counts()[0] == 8


def test_a_dictionary_change_retokenises_stored_passages(
        docs_copy: Path, tmp_path: Path, tokenizer: Tokenizer) -> None:
    db = tmp_path / "k.sqlite"
    ingest([docs_copy], db, tokenizer)
    folder = tmp_path / "dict"
    shutil.copytree(PROJECT_ROOT / "jieba_dict", folder)
    with (folder / "shop.txt").open("a", encoding="utf-8") as file:
        file.write("涂层耐刮 3000 n\n")
    edited = Tokenizer(folder)

    report = ingest([docs_copy], db, edited)

    assert report.retokenized == Store.open(db).counts()[1] and report.unchanged == 7
    assert report.changed
    assert "涂层耐刮" in KnowledgeIndex.open(db, edited).terms("涂层耐刮吗")
    assert ingest([docs_copy], db, edited).retokenized == 0


def test_opening_without_an_index_is_a_clear_error(tmp_path: Path, tokenizer: Tokenizer) -> None:
    with pytest.raises(StoreError, match="no knowledge index .*python -m knowledge ingest"):
        KnowledgeIndex.open(tmp_path / "missing.sqlite", tokenizer)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="cannot open the knowledge index"):
        KnowledgeIndex.open(other, tokenizer)
    not_sqlite = tmp_path / "text.sqlite"
    not_sqlite.write_text("hello", encoding="utf-8")
    with pytest.raises(StoreError):
        KnowledgeIndex.open(not_sqlite, tokenizer)


def test_an_empty_index_answers_nothing(tmp_path: Path, tokenizer: Tokenizer) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    db = tmp_path / "k.sqlite"
    assert counts(ingest([empty], db, tokenizer)) == (0, 0, 0, 0, 0, 0)
    index = KnowledgeIndex.open(db, tokenizer)
    assert len(index) == 0
    assert index.search("保修多久") == [] and index.answer("保修多久") is None


def test_a_single_document_index_still_scores_positively(
        tmp_path: Path, tokenizer: Tokenizer) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "a.md").write_text("# 保修\n\n整机保修1年。\n", encoding="utf-8")
    index = KnowledgeIndex.open(ingest([folder], tmp_path / "k.sqlite", tokenizer) and
                                tmp_path / "k.sqlite", tokenizer)
    hit = index.answer("保修多久")
    assert hit is not None and hit.score > 0 and hit.text == "整机保修1年。"
