"""Chinese tokenisation for the knowledge index: jieba with the NLU pipeline's dictionary.

Documents and queries go through the same normalisation (NFKC, lower-cased Latin, stop
words and punctuation dropped, a few colloquial synonyms folded onto one word), so the
index never matches on a particle such as 的/吗 and "怎么清洗" finds a section titled 清洁.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import threading
import unicodedata
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional

from pydantic import BaseModel, Extra

from knowledge.config import PROJECT_ROOT
from service_common.config import Text, load_yaml

logger = logging.getLogger(__name__)

PIPELINE_CONFIG = PROJECT_ROOT / "config.yml"
FALLBACK_DICTIONARY = PROJECT_ROOT / "jieba_dict"
# The NLU tokenizer whose dictionary folder we share (see config.yml).
PIPELINE_TOKENIZER = "components.tokenizers.ShopJiebaTokenizer"
# Bump when the rules below change: stored tokens are then rebuilt on the next ingest.
TOKENIZER_VERSION = "1"

# Particles, pronouns, question words and fillers of customer questions. They carry no
# topic, so a passage must never match because of them. Kept small on purpose: a word
# that names a topic (使用, 安装, 运费 ...) must stay searchable.
# Duration questions (多久, 几年) are stop words: "保修多久" is answered by the passage on
# 保修, which states the period. Points in time (什么时候, 几点) stay content words on
# purpose: the documents do not hold ship times, and "什么时候发货" must not be answered
# by a passage that merely mentions 发货. Time units (年, 天 ...) alone name no topic.
STOP_WORDS: FrozenSet[str] = frozenset("""
的 地 得 了 着 过 吗 嘛 么 呢 吧 啊 呀 哦 哟 喔 噢 哈 啦 呗 嗯 哎 诶 哇 咯 嘞 滴
是 在 有 和 与 及 或 或者 也 都 就 还 又 再 很 太 挺 更 才 只 而 并 且 但 但是 如果 因为 所以 然后
这 那 这个 那个 这款 那款 这种 那种 这样 那样 这些 那些 这里 那里 这边 那边 此 其
哪 哪个 哪些 哪里 哪儿 什么 啥 谁 怎么 怎样 怎么样 如何 为什么 为啥 咋 怎么办 咋办 怎么回事 怎么弄
多久 多长 多长时间 几年 几天 几个月 多少 多少天 多少年 几
能 能不能 可以 可不可以 可否 会 会不会 要 要不要 想 需要 应该 行 行不行 好 好的 用 用的 一下
有没有 是不是 对不对 支持 出 开 弄 搞
我 你 您 他 她 它 我们 你们 他们 咱 咱们 自己 亲 亲亲 请 请问 麻烦 谢谢 客服 小蜜 你好 您好 在吗
个 一个 些 一些 点 一点 有点 有些 东西 问题 情况 事 事情 现在 一般 大概 比较 非常 特别 真的
把 被 给 让 对 从 到 向 跟 为 于 以 之 等 等等 上 中 里 下面 上面 不 没 没有 别 还是 就是 已经
不能 不要 不用 不会 可能 一定 直接
年 月 天 日 周 小时 分钟
""".split())

# Colloquial word -> the word the shop's documents use. Applied to documents and queries.
SYNONYMS: Dict[str, str] = {
    "清洗": "清洁", "清理": "清洁", "洗": "清洁", "刷洗": "清洁",
    "首次": "第一次", "头一次": "第一次", "头一回": "第一次",
    "质保": "保修", "保修期": "保修", "保固": "保修",
    "开票": "发票",
    "电饭锅": "电饭煲",
    "移动电源": "充电宝",
}


class PipelineComponent(BaseModel):
    """One pipeline entry; only the tokenizer's dictionary folder is read here (Rasa checks
    the rest when it trains)."""

    name: Text
    dictionary_path: Optional[Text] = None

    class Config:
        extra = Extra.allow


class PipelineFile(BaseModel):
    """config.yml, the part the knowledge index shares with the NLU pipeline"""

    pipeline: List[PipelineComponent] = []

    class Config:
        extra = Extra.allow


def pipeline_dictionary_path(config_path: Path = PIPELINE_CONFIG) -> Path:
    """The jieba dictionary folder the NLU pipeline uses (config.yml), so both agree.

    Falls back to jieba_dict/ when there is no config or it names no dictionary; a config
    that is not valid YAML or names the folder wrongly raises ConfigError.
    """
    if not config_path.is_file():
        return FALLBACK_DICTIONARY
    for component in load_yaml(config_path, PipelineFile).pipeline:
        if component.name == PIPELINE_TOKENIZER and component.dictionary_path:
            return (config_path.parent / component.dictionary_path).resolve()
    return FALLBACK_DICTIONARY


def _is_punctuation(word: str) -> bool:
    return all(unicodedata.category(char)[0] in "PSZC" for char in word)


class Tokenizer:
    """jieba (own instance, precise mode without HMM) plus the normalisation above.

    An own ``jieba.Tokenizer`` keeps this index independent of whatever else the process
    loads into jieba's global one. HMM is off because it glues unknown characters into
    non-words ("第一次用要" -> "用要") that then match nothing.
    """

    def __init__(self, dictionary_path: Optional[Path] = None) -> None:
        import jieba

        self.dictionary_path = Path(dictionary_path or pipeline_dictionary_path())
        self._jieba = jieba.Tokenizer()
        # Same rule as Rasa's JiebaTokenizer._load_custom_dictionary (every file in the
        # folder); importing that class would pull in TensorFlow (~5 s) for five lines.
        self._dictionary_files = sorted(glob.glob(f"{self.dictionary_path}/*"))
        if not self._dictionary_files:
            logger.warning("knowledge: no jieba dictionary in %s", self.dictionary_path)
        for file_name in self._dictionary_files:
            self._jieba.load_userdict(file_name)
        self._jieba.check_initialized()
        self.signature = self._signature()

    def _signature(self) -> str:
        """Changes whenever a rule or dictionary changes how a text is tokenised."""
        digest = hashlib.sha256(TOKENIZER_VERSION.encode())
        for file_name in self._dictionary_files:
            digest.update(Path(file_name).name.encode())
            digest.update(Path(file_name).read_bytes())
        digest.update(" ".join(sorted(STOP_WORDS)).encode())
        digest.update(repr(sorted(SYNONYMS.items())).encode())
        return digest.hexdigest()

    def words(self, text: str) -> List[str]:
        """jieba's words of ``text`` after NFKC, original case, whitespace dropped."""
        normalised = unicodedata.normalize("NFKC", text)
        return [word.strip() for word in self._jieba.cut(normalised, HMM=False) if word.strip()]

    def normalise(self, word: str) -> Optional[str]:
        """The index form of one word, or None for stop words and punctuation."""
        word = word.lower()
        word = SYNONYMS.get(word, word)
        if word in STOP_WORDS or _is_punctuation(word):
            return None
        return word

    def query_terms(self, text: str) -> List[str]:
        """Content words of a question, in order, without duplicates."""
        terms: List[str] = []
        for word in self.words(text):
            term = self.normalise(word)
            if term is not None and term not in terms:
                terms.append(term)
        return terms

    def document_tokens(self, text: str) -> List[str]:
        """Index tokens of a passage: its words plus the dictionary words inside long ones.

        "5L空气炸锅" also yields 空气炸锅, 空气, 炸锅, so a customer who writes "炸锅" finds the
        page; queries stay unexpanded so each of their words counts once.
        """
        tokens: List[str] = []
        for word in self.words(text):
            term = self.normalise(word)
            if term is not None:
                tokens.append(term)
            tokens.extend(self._inner_words(word))
        return tokens

    def _inner_words(self, word: str) -> Iterable[str]:
        if len(word) <= 2:
            return []
        found = []
        for start in range(len(word) - 1):
            for end in range(start + 2, len(word) + 1):
                if (start, end) == (0, len(word)):
                    continue
                part = word[start:end]
                if self._jieba.FREQ.get(part):
                    term = self.normalise(part)
                    if term is not None:
                        found.append(term)
        return found

    def split_known(self, term: str, vocabulary: Mapping[str, int]) -> List[str]:
        """A query word the index has never seen, as the longest indexed words inside it.

        Accepted only when those words cover all but at most one character of it
        ("炸鸡翅" -> 鸡翅: the verb 炸 adds little); "货到付款" is not "付款", so it stays whole
        and counts as not covered. Empty when there is no such split.
        """
        parts: List[str] = []
        uncovered = 0
        start = 0
        while start < len(term):
            for end in range(len(term), start + 1, -1):
                part = term[start:end]
                if end - start < len(term) and part in vocabulary:
                    parts.append(part)
                    start = end
                    break
            else:
                uncovered += 1
                start += 1
        return parts if parts and uncovered <= 1 else []


_shared: Dict[Path, Tokenizer] = {}
_shared_lock = threading.Lock()


def shared_tokenizer(dictionary_path: Optional[Path] = None) -> Tokenizer:
    """One tokenizer per dictionary folder per process: building one takes ~0.5 s."""
    folder = Path(dictionary_path or pipeline_dictionary_path()).resolve()
    with _shared_lock:
        if folder not in _shared:
            _shared[folder] = Tokenizer(folder)
        return _shared[folder]
