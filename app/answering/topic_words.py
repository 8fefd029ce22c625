"""The words that name what a question is about, and those of them no document uses.

A follow-up with no topic word of its own ("今年还办不办？", "还有什么新动作？") is about the
earlier question's topic (followup.py). A topic word the corpus never uses (足球 of "今年在足球
方面有什么打算？") is named in the answer: the answer scorer cannot tell such a question from a
colloquial one the corpus answers in other words (README, "A known failure"), so it answers
both with the closest sentences, and the answer then opens by naming the asker's words the
corpus never uses, as a search engine shows "Missing: 足球"."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .scorer import WH_WORDS

# jieba part-of-speech tags (prefixes) of words that can name a topic: nouns (n, nr, ns, nt,
# nz), verbal nouns (vn) and abbreviations (j: 党建, 环保). Question words and verbs (打算,
# 解决) frame the question.
TOPIC_TAGS = ("n", "vn", "j")
# Words commoner than this in general Chinese (−log of their share of jieba's dictionary
# counts; 10 is about 1 word in 22,000) frame or generalise a question (问题, 情况, 方面, 动作,
# 价格) rather than name its topic, unless the corpus uses them. Chosen on the article's
# training questions (README).
MIN_RARITY = 10.0
# Words for the text itself (这篇文章, 原文, 全文): what a question is asked of, never a topic the
# corpus leaves out. jieba cuts "这篇文章" into 这 / 篇文章, and "文章没有提到“篇文章”" opened the
# right answer to "这篇文章是谁写的？". They still name a topic for follow-ups (a question about
# the article is not about the previous one's topic).
SOURCE_WORDS = ("文章", "原文", "全文", "本文", "文档")


@dataclass(frozen=True)
class TopicWords:
    """Callable folded text → its topic words, in order: nouns the corpus uses, words the
    profile gives for the corpus's own, and nouns rare in general Chinese."""

    tagger: Callable[[str], list[tuple[str, str]]]  # folded text → (word, part-of-speech tag)
    rarity: Callable[[str], float]  # a word → how rare it is in general Chinese (as MIN_RARITY; inf: unknown)
    folded_corpus: str
    known: frozenset[str] = frozenset()  # words a question may use for the corpus's own (the profile's)
    min_rarity: float = MIN_RARITY

    @classmethod
    def of(cls, tokenizer: object, folded_corpus: str, known: Iterable[str] = (),
           min_rarity: float = MIN_RARITY) -> TopicWords | None:
        """For a tokenizer that tags words and knows their rarity (JiebaTokenizer); None when it does not."""
        tagger, rarity = getattr(tokenizer, "tagged", None), getattr(tokenizer, "rarity", None)
        if tagger is None or rarity is None:
            return None
        return cls(tagger, rarity, folded_corpus, frozenset(known), min_rarity)

    def used(self, word: str) -> bool:
        """Whether the corpus uses `word`, or the profile gives it for the corpus's own."""
        return word in self.known or word in self.folded_corpus

    def __call__(self, folded_text: str) -> list[str]:
        words: list[str] = []
        for word, tag in self.tagger(folded_text):
            if word in words or len(word) < 2 or any(wh in word for wh in WH_WORDS):  # 多少钱 asks, names nothing
                continue
            if word in self.known or (tag.startswith(TOPIC_TAGS) and (
                    word in self.folded_corpus
                    or self.min_rarity <= self.rarity(word) < math.inf)):  # inf: a word jieba made up
                words.append(word)
        return words

    def unmentioned(self, folded_question: str) -> list[str]:
        """The question's topic words that no document uses (and the profile does not give)."""
        return [
            w for w in self(folded_question) if not self.used(w) and not any(s in w for s in SOURCE_WORDS)
        ]
