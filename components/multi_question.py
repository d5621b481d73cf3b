"""Several questions in one message: each gets an answer (issue 16).

Real customers write 「什么时候发货?能开发票吗?包邮吗」 in one message. DIET gives the message
one intent; the bot answered that one and dropped the rest.

`MultiQuestionDetector` (NLU, at the end of the pipeline) splits a message into sentences at
sentence-final punctuation (。!?;, line breaks; not at commas or spaces, which join the
parts of one request: 「我买的耳机,什么时候到」) and classifies each sentence with its own
small model: TF-IDF character n-grams and a logistic regression trained on the NLU examples
(the intent, or the response key for FAQ examples: `faq/shipping_fee`), like the emotion
radar. A sentence whose label is confident (likely, and clearly ahead of the runner-up),
answerable and not what the message as a whole was answered for becomes an
`extra_questions` entry of the parse data:
`[{"label": "faq/shipping_fee", "text": "包邮吗", "confidence": 0.91}]`.

`MultiQuestionPolicy` runs `action_answer_more` once the turn's main answer is complete
(the last action was an answer, not a handoff or a clarification; inside a form, right after
the form asked its question), then ends the turn. The action answers FAQ sentences with
their responses and, outside a form, offers the other tasks as buttons (a form works on
one order at a time).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME, REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import model_files
from components.ngram_linear import NgramLinearScorer, softmax

logger = logging.getLogger(__name__)

EXTRA_QUESTIONS = "extra_questions"
ACTION_ANSWER_MORE = "action_answer_more"
MODEL_FILE = "multi_question.joblib"
# Sentence-final punctuation, and a space after a finished question (「包邮吗 几天能到」);
# not any space: 「衣服什么时候发货 可以便宜点吗」 has none after its first question, and
# spaces split real messages mostly into fragments (docs/dialogue.md).
# A connective that opens the next question ends one too: 「…什么时候发货 还有能不能开发票」;
# so does a decision made first: 「先别取消 我问下能用券吗」.
SENTENCE_END = re.compile(r"[。!?！？;；\n\r]+|(?<=[吗呢嘛])\s+"
                          r"|[\s,，]+(?=另外|顺便问|再问|还想问|还有(?:就是|个|一个|能|可以|你们))"
                          r"|(?:(?<=先别取消)|(?<=先不取消)|(?<=不取消了)|(?<=不用取消)"
                          r"|(?<=不要取消)|(?<=不取消)|(?<=算了)|(?<=不用了))[\s,，]+")
CJK_OR_WORD = re.compile(r"[\u4e00-\u9fff0-9A-Za-z]")
# Weibo's 「@锤子科技客服」: an address, not a question.
MENTION = re.compile(r"@[^\s@,，:：]{1,30}")
# Follow-ups that ask nothing of their own: the sentence before says what they are about.
CONTENT_FREE = re.compile(r"(?:那|那我|那要|请问)?"
                          r"(怎么办|咋办|怎么整|咋整|怎么弄|怎么回事|为什么|然后呢|所以呢|是吗|对吗|好吗)")
# Above RulePolicy (6), which predicts `action_listen` after the main answer; the same as
# EscalationPolicy, which never predicts at the same points (right after a message, or
# after a form ended).
PRIORITY = 7


# A greeting or 「我想问一下」 before a question says nothing about it (and makes the
# question's own words count less): 「你好 我想问一下 我买的衣服什么时候发货」.
OPENING = re.compile(r"^(?:(?:你好|您好|亲亲?|在吗|在不在|哈喽|hello|hi)[\s,，!！~～。]*)?"
                     r"(?:我?想?(?:问一下|问下|咨询一下|咨询下)|请问)?[\s,，:：]*", re.IGNORECASE)


# The decision itself (「先不取消」) asks nothing: the question after it does.
DECISION = re.compile(r"(?:算了|那就?|我)?(?:先别|先不|不用|不要|不)取消了?(?:吧|啦)?")


# A space or comma between two phrases that each ask or request something ends the first:
# 「175 70kg穿什么码 是纯棉的吗」, 「耳机到哪了 顺便帮我开个发票」, 「你们发什么快递 包邮吗」;
# not one that only describes (「我买的耳机,什么时候到」, 「这个颜色 还有货吗」), nor a word or
# two after it (「能不能快点 急用」).
PHRASE_GAP = re.compile(r"([\s,，]+)")
ASKS = re.compile(r"吗|呢|么|嘛|什么|多少|几[天个号点时件码日]|哪|怎么|怎样|如何|能不能|可不可以|"
                  r"是不是|有没有|多久|谁|帮我|给我|麻烦|顺便|我要|想要|不想要|想退|想换|要退|要换")


def asked_phrases(part: Text) -> List[Text]:
    """A sentence cut where one asking phrase ends and another begins (PHRASE_GAP)."""
    pieces = PHRASE_GAP.split(part)
    phrases = [pieces[0]]
    for gap, piece in zip(pieces[1::2], pieces[2::2], strict=True):
        if ASKS.search(phrases[-1]) and ASKS.search(piece) and \
                len(CJK_OR_WORD.findall(piece)) >= 3:
            phrases.append(piece)
        else:
            phrases[-1] += gap + piece
    return phrases


def sentences(text: Text, max_chars: int = 300) -> List[Text]:
    """The message's sentences with at least three letters or digits each, @mentions,
    greetings before a question, content-free follow-ups (「怎么办」) and decisions
    (「先不取消」) left out."""
    parts = (OPENING.sub("", MENTION.sub(" ", phrase).strip(" ,，、~～"), count=1)
             for part in SENTENCE_END.split(text[:max_chars])
             for phrase in asked_phrases(part))
    return [part for part in parts if len(CJK_OR_WORD.findall(part)) >= 3
            and not CONTENT_FREE.fullmatch(part) and not DECISION.fullmatch(part)]


def label_of(message: Message) -> Optional[Text]:
    """The training label: the response key of FAQ examples, else the intent."""
    return message.get(INTENT_RESPONSE_KEY) or message.get(INTENT)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class MultiQuestionDetector(GraphComponent):
    """Adds `extra_questions` to messages with several questions (module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Labels worth an answer of their own: FAQ topics are answered directly, the
            # other tasks are offered as buttons.
            "answer_labels": ["faq/*", "ask_shipping_time", "ask_promotion", "ask_invoice",
                              "track_logistics", "query_order_status", "urge_delivery",
                              "cancel_order", "change_address", "request_return",
                              "request_refund", "request_exchange", "query_refund_progress",
                              "report_quality_issue", "ask_size", "ask_usage",
                              "product_question", "request_human"],
            # Labels that belong to one matter: the main answer covers the others.
            "groups": [["track_logistics", "query_order_status", "ask_shipping_time",
                        "urge_delivery"],
                       ["request_return", "request_refund", "request_exchange",
                        "report_quality_issue", "query_refund_progress"],
                       # (a size asked with a product fact: 「175 70kg穿什么码 是纯棉的吗」
                       # gets the size from the size form, the fact as well)
                       ["product_question", "ask_usage"],
                       # 「这个价格能保价吗 买完就降价了」: the price-protection answer covers it
                       ["ask_promotion", "faq/price_protection"]],
            # A sentence counts when its label is likely and clearly ahead of the next one
            # (「你们发什么快递」: courier 0.51, complain 0.16).
            "threshold": 0.45,
            "margin": 0.25,
            "max_extra": 2,
            "min_ngram": 1,
            "max_ngram": 3,
            "C": 10.0,
            "solver": "newton-cg",  # as NgramIntentClassifier: sklearn's lbfgs is slower here
            "random_state": 2026,
            "max_chars": 300,
        }

    @classmethod
    def required_packages(cls) -> List[Text]:
        return ["sklearn", "joblib"]

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage,
                 resource: Resource, model: Optional[Dict[Text, Any]] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        # sklearn's predict_proba copies the whole weight matrix on every call (the
        # transposed coef_ is not contiguous): 10 % of Rasa's time under load (docs/scale.md).
        self._scorer = NgramLinearScorer(model["vectorizer"], model["classifier"]) \
            if model is not None else None
        self._group_of = {label: index for index, group in enumerate(self._config["groups"])
                          for label in group}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext
               ) -> MultiQuestionDetector:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        examples = [(message.get(TEXT), label_of(message))
                    for message in training_data.intent_examples
                    if message.get(TEXT) and label_of(message)]
        if len({label for _, label in examples}) < 2:
            return self._resource
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", sublinear_tf=True, lowercase=True,
            ngram_range=(self._config["min_ngram"], self._config["max_ngram"]))
        features = vectorizer.fit_transform(
            [text[: self._config["max_chars"]] for text, _ in examples])
        classifier = LogisticRegression(C=self._config["C"], max_iter=3000,
                                        random_state=self._config["random_state"],
                                        solver=self._config["solver"])
        classifier.fit(features, [label for _, label in examples])
        self._model = {"vectorizer": vectorizer, "classifier": classifier}
        self._scorer = NgramLinearScorer(vectorizer, classifier)
        model_files.save(self._model_storage, self._resource, MODEL_FILE, self._model)
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> MultiQuestionDetector:
        return cls(config, model_storage, resource,
                   model_files.load(model_storage, resource, MODEL_FILE))

    def _answerable(self, label: Text) -> bool:
        wanted = self._config["answer_labels"]
        return label in wanted or (label.startswith("faq/") and "faq/*" in wanted)

    def _same_matter(self, label: Text, main: Optional[Text]) -> bool:
        if main is None:
            return False
        if label == main:
            return True
        group = self._group_of.get(label)
        return group is not None and group == self._group_of.get(main)

    def extra_questions(self, text: Text, main: Optional[Text]) -> List[Dict[Text, Any]]:
        """The sentences asking something other than `main` (the message's label)."""
        if self._scorer is None:
            return []
        parts = sentences(text, self._config["max_chars"])
        if len(parts) < 2 and not (parts and DECISION.search(text)):
            return []  # one sentence is the message's own (「先不取消 能用券吗」 has two)
        scorer = self._scorer
        found: List[Dict[Text, Any]] = []
        seen = {main}
        for part in parts:
            row = self.probabilities(part)
            second, best = (int(index) for index in np.argsort(row)[-2:])
            label, confidence = scorer.labels[best], float(row[best])
            if confidence < self._config["threshold"] or label in seen or \
                    confidence - float(row[second]) < self._config["margin"] or \
                    not self._answerable(label) or self._same_matter(label, main):
                continue
            seen.add(label)
            found.append({"label": label, "text": part, "confidence": round(confidence, 3)})
        return found[: self._config["max_extra"]]

    def probabilities(self, sentence: Text) -> np.ndarray:
        """P(label) of one sentence, in the order of the scorer's labels (as sklearn's
        `predict_proba` of the trained classifier)."""
        assert self._scorer is not None
        scorer = self._scorer
        return softmax(scorer.intercept + scorer.scores(scorer.columns(sentence)))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if not intent or intent == "nlu_fallback":
                continue
            selector = ((message.get("response_selector") or {}).get("faq") or {})
            key = ((selector.get("response") or {}).get("intent_response_key"))
            extra = self.extra_questions(message.get(TEXT) or "", key or intent)
            if extra:
                message.set(EXTRA_QUESTIONS, extra, add_to_output=True)
        return messages


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class MultiQuestionPolicy(Policy):
    """Runs `action_answer_more` after the main answer of a message with extra questions."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": PRIORITY}

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        if ACTION_ANSWER_MORE not in domain.action_names_or_texts:
            raise ValueError(f"MultiQuestionPolicy needs `{ACTION_ANSWER_MORE}` in domain.yml")
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: Optional[Dict[Text, Any]] = None,
                                     **kwargs: Any) -> PolicyPrediction:
        action = next_action(tracker, set(domain.form_names))
        probabilities = self._default_predictions(domain)
        if action is not None:
            probabilities[domain.index_for_action(action)] = 1.0
        # Marked like a form's own continuation, which it follows inside a form.
        return self._prediction(probabilities, is_no_user_prediction=action is not None)


# Actions that are no finished answer to add to: listening, a handoff, a clarification
# (the message was not understood), a cancelled form about to say so, Rasa's own.
NOT_AN_ANSWER = {ACTION_LISTEN_NAME, "action_session_start", "action_escalate",
                 "action_deactivate_loop", "action_clarify", "action_default_fallback",
                 "action_restart", "action_back", "action_unlikely_intent"}


def next_action(tracker: DialogueStateTracker, forms: set) -> Optional[Text]:
    """`action_answer_more` once the main answer is done, `action_listen` after it."""
    latest = tracker.latest_action_name
    if latest == ACTION_ANSWER_MORE:
        return ACTION_LISTEN_NAME
    if latest in NOT_AN_ANSWER or tracker.is_paused():
        return None
    loop = tracker.active_loop_name
    if loop:
        # Inside a form: right after it asked its question (the FAQ answers follow it).
        if latest != loop or not tracker.get_slot(REQUESTED_SLOT):
            return None
    elif latest in forms:
        return None  # a form just ended: the task it collected for runs next
    ran: List[Text] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            if not (event.parse_data or {}).get(EXTRA_QUESTIONS):
                return None
            break
        if isinstance(event, ActionExecuted) and event.action_name:
            ran.append(event.action_name)
    else:
        return None  # no customer message yet (the desk's rating question, a greeting)
    if ACTION_ANSWER_MORE in ran or not ran:
        return None
    return ACTION_ANSWER_MORE
