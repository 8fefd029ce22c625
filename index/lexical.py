"""Lexical search: BM25 over jieba words, with the documents' quoted terms kept whole."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from functools import cached_property
from pathlib import Path

import numpy as np

from .text import fold

# Function words and question words that carry no topic.
STOPWORDS = frozenset(
    "的 了 和 与 及 在 是 有 也 都 又 还 就 将 把 被 对 从 为 以 等 个 这 那 其 "
    "之 吗 呢 吧 啊 呀 嘛 么 什么 怎么 怎么样 怎样 如何 哪些 哪个 多少 几 谁 哪里 "
    "为什么 是不是 有没有 请问 一下 告诉 我 我们 你 你们 几月 几号 几日 第几 几届 几次 "
    "哪家 哪位 哪年 哪天 什么样 啥 咋 他 他们 它 它们 方面 情况 主要 具体 一些 有关 "
    "关于 相关 内容 做 了 吗 哪 过 要 会 能 可以 the a an of to in on "
    "and or what how which who is are was were did do "
    "does for about".split()
)
_WORD = re.compile(r"\w", re.UNICODE)
QUOTED_TERM = re.compile(r"[“\"「『]([^”\"」』\n]{2,20})[”\"」』]")

Tokenizer = Callable[[str], list[str]]
DOCUMENT_FREQUENCY = "document_frequency.json"


def quoted_terms(texts: Iterable[str]) -> set[str]:
    """Terms a document puts in quotation marks (“七湖三湾一站一园”, “工业上楼”, …)."""
    return {m.group(1).strip() for text in texts for m in QUOTED_TERM.finditer(text)}


class JiebaTokenizer:
    """Callable text → words: folded, cut with jieba (search mode), stopwords dropped.
    Uses its own jieba.Tokenizer so user words never leak into jieba's global state."""

    def __init__(self, user_words: Iterable[str] = (), cache_dir: Path | None = None) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        if cache_dir:  # jieba caches its parsed dictionary here instead of the system temp folder
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache_dir)
        self.user_words = sorted({fold(w) for w in user_words})
        self._pos = None
        self._lock = threading.Lock()
        for word in self.user_words:
            self._jieba.add_word(word, freq=100_000)

    @cached_property
    def id(self) -> str:
        """jieba's version, the user words and the stopwords: what the words depend on."""
        import jieba

        words = "\n".join([*self.user_words, "|", *sorted(STOPWORDS)])
        return f"jieba-{jieba.__version__}-{hashlib.sha1(words.encode()).hexdigest()[:12]}"

    def __call__(self, text: str) -> list[str]:
        words = self._jieba.cut_for_search(fold(text))
        return [w for w in (w.strip() for w in words) if w and _WORD.search(w) and w not in STOPWORDS]

    def rarity(self, word: str) -> float:
        """How rare `word` is in general Chinese: −log of its share of the counts in jieba's
        dictionary (add-one); infinite for a word the dictionary lacks, which jieba made up
        from unknown text and is often a mis-cut (地比 of "用的地比前年多")."""
        self._jieba.check_initialized()
        count = self._jieba.FREQ.get(word, 0)
        return -math.log((count + 1) / self._jieba.total) if count else math.inf

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """(word, jieba part-of-speech tag) pairs of already folded `text` (nr: person, ns: place, …)."""
        import jieba.posseg

        with self._lock:  # jieba's part-of-speech tokenizer initialises lazily, once
            if self._pos is None:
                self._pos = jieba.posseg.POSTokenizer(self._jieba)
        return [(w, tag) for w, tag in self._pos.cut(text) if w.strip()]


def tokenizer_id(tokenizer: Tokenizer) -> str | None:
    """What a tokenizer's words depend on, when it says (JiebaTokenizer does): a BM25 index
    saved with one tokenizer is reused only with the same id."""
    return getattr(tokenizer, "id", None)


class BM25Index:
    """BM25 over sparse matrices (bm25s): every word's score for every chunk is computed at
    build time, so a query costs a few sparse-column sums. rank_bm25, used before, scored
    each chunk in Python per query: 0.9 s at 1M chunks (README, "How cost grows").
    Saved with the index and loaded at start, so a replica does not tokenize the corpus again."""

    def __init__(self, tokenizer: Tokenizer, bm25: object, size: int, document_frequency: Counter[str]) -> None:
        """An index from its parts; `build` makes one from texts, `load` reads a saved one."""
        self.tokenizer = tokenizer
        self._bm25 = bm25
        self.size = size
        self._document_frequency = document_frequency

    @classmethod
    def build(cls, texts: list[str], tokenizer: Tokenizer) -> BM25Index:
        import bm25s

        tokenized = [tokenizer(t) for t in texts]
        bm25 = bm25s.BM25(k1=1.5, b=0.75, method="robertson")  # rank_bm25's Okapi idf, negatives as 0
        bm25.index(tokenized, show_progress=False)
        return cls(tokenizer, bm25, len(texts), Counter(w for words in tokenized for w in set(words)))

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)
        counts = {"size": self.size, "document_frequency": self._document_frequency}
        (folder / DOCUMENT_FREQUENCY).write_text(json.dumps(counts, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, tokenizer: Tokenizer) -> BM25Index:
        import bm25s

        counts = json.loads((folder / DOCUMENT_FREQUENCY).read_text(encoding="utf-8"))
        return cls(tokenizer, bm25s.BM25.load(str(folder), show_progress=False), counts["size"],
                   Counter(counts["document_frequency"]))

    @property
    def vocabulary(self) -> Collection[str]:
        return self._document_frequency.keys()

    def idf(self, word: str) -> float:
        """Inverse document frequency (Lucene's BM25 form, always > 0); unseen words get the most."""
        df = self._document_frequency.get(word, 0)
        return math.log((self.size - df + 0.5) / (df + 0.5) + 1.0)

    def scores(self, query: str | list[str]) -> np.ndarray:
        words = self.tokenizer(query) if isinstance(query, str) else query
        known = [w for w in words if w in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self.size, np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
