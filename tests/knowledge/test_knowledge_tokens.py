"""Tokenisation: jieba with the NLU pipeline's dictionary, stop words, synonyms."""

from __future__ import annotations

import shutil
from pathlib import Path

from knowledge.config import PROJECT_ROOT
from knowledge.tokens import FALLBACK_DICTIONARY, Tokenizer, pipeline_dictionary_path


def test_the_dictionary_folder_is_the_one_config_yml_gives_the_nlu_tokenizer() -> None:
    assert pipeline_dictionary_path() == PROJECT_ROOT / "jieba_dict"


def test_dictionary_folder_falls_back_when_config_names_none(tmp_path: Path) -> None:
    assert pipeline_dictionary_path(tmp_path / "missing.yml") == FALLBACK_DICTIONARY
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: WhitespaceTokenizer\n", encoding="utf-8")
    assert pipeline_dictionary_path(config) == FALLBACK_DICTIONARY
    config.write_text("pipeline:\n  - name: components.tokenizers.ShopJiebaTokenizer\n"
                      "    dictionary_path: my_dict\n", encoding="utf-8")
    assert pipeline_dictionary_path(config) == (tmp_path / "my_dict").resolve()


def test_custom_dictionary_keeps_shop_words_whole(tokenizer: Tokenizer, tmp_path: Path) -> None:
    plain = Tokenizer(tmp_path)  # an empty dictionary folder: stock jieba only
    assert "5L空气炸锅" in tokenizer.words("5L空气炸锅的内胆")
    assert "5L空气炸锅" not in plain.words("5L空气炸锅的内胆")
    assert tokenizer.signature != plain.signature


def test_query_terms_drop_stop_words_and_punctuation(tokenizer: Tokenizer) -> None:
    terms = tokenizer.query_terms("亲,请问这个空气炸锅涂层耐刮吗???")
    assert terms == ["空气炸锅", "涂层", "耐", "刮"]
    assert tokenizer.query_terms("这个怎么用?") == []
    assert tokenizer.query_terms("的了吗呢吧") == []
    assert tokenizer.query_terms("保修多久") == ["保修"]  # a duration question asks about 保修


def test_points_in_time_stay_content_words(tokenizer: Tokenizer) -> None:
    # The documents hold no ship times: "几点发货" must not be reduced to "发货".
    assert tokenizer.query_terms("几点发货") == ["几点", "发货"]


def test_latin_is_lower_cased_and_full_width_normalised(tokenizer: Tokenizer) -> None:
    assert tokenizer.query_terms("ＵＳＢ-Ｃ 接口") == tokenizer.query_terms("usb-c接口")
    assert "usb" in tokenizer.query_terms("USB-C接口")


def test_colloquial_synonyms_fold_onto_the_documents_words(tokenizer: Tokenizer) -> None:
    assert tokenizer.query_terms("怎么清洗") == ["清洁"]
    assert tokenizer.query_terms("首次使用") == ["第一次", "使用"]
    assert tokenizer.query_terms("质保") == ["保修"]
    assert "清洁" in tokenizer.document_tokens("清洗内胆")


def test_document_tokens_add_the_dictionary_words_inside_long_words(
        tokenizer: Tokenizer) -> None:
    tokens = tokenizer.document_tokens("悦家 5L空气炸锅")
    assert {"悦家", "5l空气炸锅", "空气炸锅", "炸锅", "空气"} <= set(tokens)
    # Queries are not expanded: each of the customer's words counts once.
    assert tokenizer.query_terms("5L空气炸锅") == ["5l空气炸锅"]


def test_split_known_accepts_a_split_missing_at_most_one_character(
        tokenizer: Tokenizer) -> None:
    vocabulary = {"鸡翅": 1, "付款": 1, "充电宝": 1, "毫安": 1}
    assert tokenizer.split_known("炸鸡翅", vocabulary) == ["鸡翅"]
    assert tokenizer.split_known("20000毫安充电宝", {**vocabulary, "20000": 1}) == [
        "20000", "毫安", "充电宝"]
    assert tokenizer.split_known("货到付款", vocabulary) == []  # COD is not "付款"
    assert tokenizer.split_known("蛋糕", vocabulary) == []


def test_signature_follows_dictionary_edits(tmp_path: Path) -> None:
    folder = tmp_path / "dict"
    shutil.copytree(PROJECT_ROOT / "jieba_dict", folder)
    before = Tokenizer(folder).signature
    with (folder / "shop.txt").open("a", encoding="utf-8") as file:
        file.write("涂层耐刮 3000 n\n")
    after = Tokenizer(folder)
    assert after.signature != before
    assert "涂层耐刮" in after.words("涂层耐刮吗")
