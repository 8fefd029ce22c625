"""The question's topic words that no document uses: 足球 of "今年在足球方面有什么打算？".

The answer scorer cannot tell such a question from a colloquial one the corpus answers in
other words (README, "A known failure"), so it answers both with the closest sentences. The
answer then opens by naming the asker's words the corpus never uses, as a search engine shows
"Missing: 足球": true of both kinds, and it keeps an answer about a nearby topic from being
read as an answer about this one."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .scorer import WH_WORDS

# jieba part-of-speech tags (prefixes) of words that can name a topic: nouns (n, nr, ns, nt,
# nz) and verbal nouns (vn). Question words and verbs (打算, 解决) frame the question.
TOPIC_TAGS = ("n", "vn")
# Words commoner than this in general Chinese (−log of their share of jieba's dictionary
# counts; 10 is about 1 word in 22,000) frame or generalise a question (问题, 情况, 方面, 动作,
# 价格) rather than name its topic. Chosen on the article's training questions (README).
MIN_RARITY = 10.0


@dataclass(frozen=True)
class UnmentionedWords:
    """Callable folded question → its topic words that the corpus never uses, in order."""

    tagger: Callable[[str], list[tuple[str, str]]]  # folded text → (word, part-of-speech tag)
    rarity: Callable[[str], float]  # a word → how rare it is in general Chinese (as MIN_RARITY; inf: unknown)
    folded_corpus: str
    known: frozenset[str] = frozenset()  # words a question may use for the corpus's own (the profile's)
    min_rarity: float = MIN_RARITY

    @classmethod
    def of(cls, tokenizer: object, folded_corpus: str, known: Iterable[str] = (),
           min_rarity: float | None = MIN_RARITY) -> UnmentionedWords | None:
        """For a tokenizer that tags words and knows their rarity (JiebaTokenizer); None when
        it does not, or when `min_rarity` is None (turned off)."""
        tagger, rarity = getattr(tokenizer, "tagged", None), getattr(tokenizer, "rarity", None)
        if tagger is None or rarity is None or min_rarity is None:
            return None
        return cls(tagger, rarity, folded_corpus, frozenset(known), min_rarity)

    def __call__(self, folded_question: str) -> list[str]:
        words: list[str] = []
        for word, tag in self.tagger(folded_question):
            if (len(word) >= 2 and tag.startswith(TOPIC_TAGS) and word not in words
                    and word not in self.known and word not in self.folded_corpus
                    and not any(wh in word for wh in WH_WORDS)  # 多少钱 of "几多钱" asks, names nothing
                    and self.min_rarity <= self.rarity(word) < math.inf):  # inf: a word made up
                words.append(word)
        return words
