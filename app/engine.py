"""The answer engine: question + history → cited Answer (or an honest refusal)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from index import JiebaTokenizer, Passage, Query, Retriever, fold, load_embedder, open_index, quoted_terms
from ingest import Chunk, Span, read_documents

from .extractive import Draft, ExtractiveGenerator, compose
from .followup import period_of_question, resolve_followup
from .models import Answer, Message
from .prompts import render
from .settings import Settings
from .validate import clean_question

DEFINITION_QUESTION = re.compile(
    r"是什么|什么意思|啥意思|咩意思|乜意思|指什么|指的是|是指|是啥|含义|意思|什么东西|\bwhat (is|are|does)\b|\bmean", re.I
)
# A sentence that defines a term it mentions: "X是指…", "X即…", "X包括…", "X：…".
DEFINES = "是指|指的是|即|就是|包括|包含|分别是|：|:"
# Words that say nothing about a question's topic, ignored when checking that the
# topic occurs in the corpus.
GENERIC_WORDS = frozenset(
    "南海 南海区 佛山 2022 2023 今年 去年 明年 年 区 全区 工作 计划 打算 发展 建设 推进 情况 内容 文章 方面 问题 "
    "成绩 重点 有啥 做了 做 干 搞 政府 一下".split()
)


class Generator(Protocol):
    name: str

    def generate(self, question: str, query: Query, passages: list[Passage], lead: str = "") -> Draft: ...


@dataclass(frozen=True)
class RefusalPolicy:
    refuse_below_dense: float
    accept_above_dense: float
    min_topic_coverage: float

    def should_refuse(self, best: Passage, topic_coverage: float | None) -> bool:
        """e5 cosines sit close together, so one threshold cannot separate in- from
        out-of-scope questions; between the two bounds, the topic words decide."""
        if best.cosine >= self.accept_above_dense:
            return False
        if best.cosine < self.refuse_below_dense:
            return True
        return topic_coverage is not None and topic_coverage < self.min_topic_coverage


class AnswerEngine:
    def __init__(
        self, retriever: Retriever, generator: Generator | None = None, policy: RefusalPolicy | None = None,
        top_k: int = 5, mode: str = "fused", max_question_chars: int = 500, max_history_turns: int = 20,
    ) -> None:
        self.retriever = retriever
        self.generator = generator or ExtractiveGenerator(retriever)
        self.policy = policy or RefusalPolicy(0.80, 0.86, 0.5)
        self.top_k = top_k
        self.mode = mode
        self.max_question_chars = max_question_chars
        self.max_history_turns = max_history_turns
        documents = list(retriever.corpus.documents.values())
        self.terms = sorted(quoted_terms(d.text for d in documents), key=len, reverse=True)

    def topic_coverage(self, query: Query) -> float | None:
        """Share of the question's topic words that occur anywhere in the corpus;
        None when it has no Chinese topic words (e.g. an English question)."""
        words = [w for w in query.words if w not in GENERIC_WORDS and re.search(r"[\u4e00-\u9fff]", w)]
        if not words:
            return None
        return sum(w in self.retriever.bm25.vocabulary for w in words) / len(words)

    def answer(self, question: object, history: list[Message] | None = None) -> Answer:
        started = time.perf_counter()
        answer = self._answer(question, history or [])
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def _answer(self, question: object, history: list[Message]) -> Answer:
        clean = clean_question(question, self.max_question_chars)
        if clean.error:
            return Answer(question=str(question or ""), answer=clean.error, refused=False, error=clean.error)
        notices = list(clean.notices)
        if len(history) > 2 * self.max_history_turns:
            history = history[-2 * self.max_history_turns :]
            notices.append(render("notice_history_trimmed", turns=self.max_history_turns))
        text = resolve_followup(clean.text, history)
        query = self.retriever.prepare(text)
        period = period_of_question(text)
        passages = self.retriever.search(query, k=max(self.top_k, 5), mode=self.mode, period=period)
        base = Answer(question=clean.text, answer="", refused=False, retrieved=passages, notices=notices, query=text)
        if not passages:
            return self._refuse(base)
        if DEFINITION_QUESTION.search(query.folded) and (term := self._mentioned_term(query.folded)):
            mentions = self._unexplained_mentions(term)
            if mentions:
                return self._finish(base, compose(mentions, render("mentioned_not_explained", term=term)))
        if self.policy.should_refuse(passages[0], self.topic_coverage(query)):
            return self._refuse(base)
        return self._finish(base, self.generator.generate(clean.text, query, passages))

    def _finish(self, answer: Answer, draft: Draft) -> Answer:
        answer.answer = "\n".join([*answer.notices, draft.text]) if answer.notices else draft.text
        answer.citations = draft.citations
        return answer

    def _refuse(self, answer: Answer) -> Answer:
        answer.refused = True
        answer.answer = "\n".join([*answer.notices, render("refusal")])
        return answer

    def _mentioned_term(self, folded_question: str) -> str | None:
        for term in self.terms:  # longest first
            if fold(term) in folded_question:
                return term
        return None

    def _unexplained_mentions(self, term: str) -> list[tuple[Chunk, Span]]:
        """The sentences mentioning `term`, or [] when one of them explains it."""
        mentions = [
            (c, s) for c in self.retriever.corpus.chunks for s in c.sentences if term in s.text
        ]
        explains = re.compile(re.escape(term) + r"[”」』\"]?\s*(" + DEFINES + ")")
        if any(explains.search(s.text) for _, s in mentions):
            return []
        return mentions


def build_engine(
    settings: Settings, log: Callable[[str], None] = print,
    progress: Callable[[str, int, int], None] | None = None, rebuild: bool = False,
) -> AnswerEngine:
    """Load (or build once) everything the engine needs, from the settings."""
    documents = read_documents(settings.corpus)
    embedder = load_embedder(settings.embedding_model, settings.cache_dir, settings.offline, log=log)
    corpus, _ = open_index(
        settings.index_dir(), documents, embedder, settings.faiss_index, log=log, progress=progress, rebuild=rebuild
    )
    tokenizer = JiebaTokenizer(quoted_terms(d.text for d in documents))
    retriever = Retriever(corpus, embedder, tokenizer, settings.retrieval_weights())
    policy = RefusalPolicy(settings.refuse_below_dense, settings.accept_above_dense, settings.min_topic_coverage)
    return AnswerEngine(
        retriever, policy=policy, top_k=settings.top_k, mode=settings.retrieval_mode,
        max_question_chars=settings.max_question_chars, max_history_turns=settings.max_history_turns,
    )
