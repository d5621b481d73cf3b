"""AnnotatedCRFEntityExtractor: Rasa's CRF, minus the blocks marked as unannotated."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message

from components.annotated_crf import (
    UNANNOTATED,
    AnnotatedCRFEntityExtractor,
    entities_unannotated,
)
from components.tokenizers import ShopJiebaTokenizer
from trainer import nlu_files
from trainer.examples import LEARNT_EXTRACTORS

PRODUCTS = ["充电宝", "台灯", "耳机", "电饭煲", "保温杯", "键盘", "加湿器", "电动牙刷"]
PROBLEMS = ["坏了", "没反应", "有裂缝", "用不了", "是坏的", "碎了"]
# Product names annotated in one block, the same names left plain in a block written for
# intents only (as data/nlu/real_style_2.yml is) and marked so.
ANNOTATED = [f"收到的[{p}](product){q}" for p in PRODUCTS for q in PROBLEMS[:3]]
PLAIN = [f"{p}{q} 怎么办" for p in PRODUCTS for q in PROBLEMS] + \
        [f"收到的{p}{q}" for p in PRODUCTS for q in PROBLEMS]
DATA = "\n".join([
    'version: "3.1"', "nlu:",
    "- intent: report_quality_issue", "  examples: |",
    *[f"    - {text}" for text in ANNOTATED],
    "- intent: ask_usage", "  metadata: {entities: unannotated}", "  examples: |",
    *[f"    - {text}" for text in PLAIN],
])


@pytest.fixture
def parts(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = ShopJiebaTokenizer.create(
        {**ShopJiebaTokenizer.get_default_config(), "dictionary_path": "jieba_dict"},
        storage, Resource("tokenizer"), context)
    featurizer = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("featurizer"), context)
    vocabulary = RasaYAMLReader().reads(DATA)
    tokenizer.process_training_data(vocabulary)
    featurizer.train(vocabulary)
    return storage, context, tokenizer, featurizer


def trained(parts, component_class, data):
    """The CRF, as in the pipeline: after the tokenizer and a featurizer (Rasa's CRF trains
    only on examples with features)."""
    storage, context, tokenizer, featurizer = parts
    training_data = RasaYAMLReader().reads(data)
    tokenizer.process_training_data(training_data)
    featurizer.process_training_data(training_data)
    config = {**component_class.get_default_config(), "random_seed": 1}
    extractor = component_class.create(config, storage, Resource(component_class.__name__),
                                       context)
    extractor.train(training_data)
    return extractor


def products_in(parts, extractor, text):
    message = Message.build(text=text)
    parts[2].process([message])
    parts[3].process([message])
    extractor.process([message])
    return [(e["entity"], e["value"]) for e in message.get("entities", [])]


def test_the_metadata_of_a_yaml_block_marks_its_examples():
    examples = RasaYAMLReader().reads(DATA).training_examples
    marked = [m.get("text") for m in examples if entities_unannotated(m)]
    assert sorted(marked) == sorted(PLAIN)
    assert nlu_files.UNANNOTATED == UNANNOTATED  # the trainer reads the same marker


def test_marked_blocks_are_left_out_of_the_crf_training(parts):
    text = "收到的充电宝碎了"  # not in the annotated block
    annotated_only = "\n".join(DATA.split("\n- intent: ask_usage")[:1])
    plain_crf_on_annotated_only = trained(parts, CRFEntityExtractor, annotated_only)
    ours = trained(parts, AnnotatedCRFEntityExtractor, DATA)
    plain_crf_on_everything = trained(parts, CRFEntityExtractor, DATA)
    # Same model as the CRF that never saw the marked block ...
    assert products_in(parts, ours, text) == products_in(
        parts, plain_crf_on_annotated_only, text) == [("product", "充电宝")]
    # ... whereas Rasa's CRF learns from the plain mentions that a product is no entity.
    assert products_in(parts, plain_crf_on_everything, text) == []
    assert products_in(parts, ours, "收到的台灯用不了") == [("product", "台灯")]


def test_the_trainer_keeps_what_the_extractor_found(parts):
    """Entities are named after the extractor; the trainer's export keeps learnt ones."""
    ours = trained(parts, AnnotatedCRFEntityExtractor, DATA)
    message = Message.build(text="收到的台灯用不了")
    for component in (parts[2], parts[3], ours):
        component.process([message])
    [entity] = message.get("entities")
    assert entity["extractor"] == "AnnotatedCRFEntityExtractor"
    assert entity["extractor"] in LEARNT_EXTRACTORS
