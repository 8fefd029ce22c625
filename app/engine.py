"""The answer engine: question + history → cited Answer (or an honest refusal)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from index import (
    JiebaTokenizer,
    Passage,
    Query,
    Retriever,
    fold,
    formal_words,
    load_embedder,
    open_index,
    quoted_terms,
    section_name,
)
from ingest import Chunk, Span, read_documents

from .extractive import Draft, ExtractiveGenerator, compose
from .followup import period_of_question, resolve_followup
from .models import Answer, Message
from .prompts import render
from .refusal import RefusalPolicy, ScopeSignals
from .settings import Settings
from .validate import clean_question

DEFINITION_QUESTION = re.compile(
    r"是什么|什么意思|啥意思|咩意思|乜意思|指什么|指的是|是指|是啥|含义|意思|什么东西|\bwhat (is|are|does)\b|\bmean",
    re.I,
)
# A sentence that defines a term it mentions: "X是指…", "X即…", "X包括…", "X：…".
DEFINES = "是指|指的是|即|就是|包括|包含|分别是|：|:"
# Nouns of the way people ask ("什么时候", "哪个方向", "这篇文章") or of the setting
# itself; a question using them is not thereby about something the corpus lacks.
QUESTION_NOUNS = frozenset(
    "南海 南海区 佛山 今年 去年 明年 时候 时间 名字 方向 动作 措施 办法 标准 文章 篇文章 "
    "这篇文章 本文 文中 内容 总体 一共 全部 具体 部分 这部分 地方 东西 事情 情况 方面 "
    "问题 量级 格局 专门 这块 那块".split()
)


TokenCallback = Callable[[str], None]


class Generator(Protocol):
    name: str

    def generate(
        self, question: str, query: Query, passages: list[Passage], lead: str = "",
        on_token: TokenCallback | None = None,
    ) -> Draft: ...


YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[a-z][a-z0-9]*")


class AnswerEngine:
    def __init__(
        self, retriever: Retriever, generator: Generator | None = None, policy: RefusalPolicy | None = None,
        top_k: int = 5, mode: str = "fused", max_question_chars: int = 500, max_history_turns: int = 20,
    ) -> None:
        self.retriever = retriever
        self.generator = generator or ExtractiveGenerator(retriever)
        self.policy = policy or RefusalPolicy()
        self.top_k = top_k
        self.mode = mode
        self.max_question_chars = max_question_chars
        self.max_history_turns = max_history_turns
        documents = list(retriever.corpus.documents.values())
        self.terms = sorted(quoted_terms(d.text for d in documents), key=len, reverse=True)
        self.years = {y for d in documents for y in YEAR.findall(d.text)}
        self.corpus_text = fold("\n".join(d.text for d in documents))

    def scope_signals(self, query: Query, best: Passage) -> ScopeSignals:
        tokenizer = self.retriever.tokenizer
        nouns = tokenizer.nouns(query.folded) if hasattr(tokenizer, "nouns") else list(query.words)
        foreign = tuple(w for w in nouns if len(w) > 1 and w not in QUESTION_NOUNS and not self._in_corpus(w))
        return ScopeSignals(
            cosine=best.cosine, foreign_words=foreign,
            foreign_name=any(LATIN_WORD.fullmatch(w) for w in foreign),
            unknown_year=any(y not in self.years for y in YEAR.findall(query.folded)),
            other_script=not CJK.search(query.folded),
        )

    def _in_corpus(self, word: str) -> bool:
        """A word counts as used when it, or any two-character piece of it, occurs in the
        corpus: "全线通车" is close enough to "全线开通", "常住人口" is not."""
        if formal_words(word):
            return True
        if not CJK.search(word) or len(word) < 3:
            return word in self.corpus_text
        return any(word[i : i + 2] in self.corpus_text for i in range(len(word) - 1))

    def _search(self, text: str) -> tuple[Query, list[Passage], bool]:
        """Retrieve for `text`; the flag says whether the passages fail to answer it."""
        query = self.retriever.prepare(text)
        passages = self.retriever.search(
            query, k=max(self.top_k, 5), mode=self.mode, period=period_of_question(text)
        )
        if not passages:
            return query, passages, True
        return query, passages, self.policy.should_refuse(self.scope_signals(query, passages[0]))

    def answer(
        self, question: object, history: list[Message] | None = None, on_token: TokenCallback | None = None
    ) -> Answer:
        """`on_token` receives generated text as it streams (generative backends only); the
        returned Answer holds the verified text."""
        started = time.perf_counter()
        answer = self._answer(question, history or [], on_token, started)
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def warm_up(self) -> None:
        """Answers one question so that lazily loaded parts (jieba's part-of-speech model,
        about 1 s) are ready before the first resident asks."""
        self.answer("2023年南海有什么计划？")

    def _answer(
        self, question: object, history: list[Message], on_token: TokenCallback | None, started: float
    ) -> Answer:
        clean = clean_question(question, self.max_question_chars)
        if clean.error:
            return Answer(question=str(question or ""), answer=clean.error, refused=False, error=clean.error)
        notices = list(clean.notices)
        if len(history) > 2 * self.max_history_turns:
            history = history[-2 * self.max_history_turns :]
            notices.append(render("notice_history_trimmed", turns=self.max_history_turns))
        text = resolve_followup(clean.text, history)
        query, passages, refuse = self._search(text)
        previous = [m.content for m in history if m.role == "user"]
        if refuse and previous and text == clean.text:
            # Not recognisably a follow-up, yet unanswerable alone ("今年还办不办？"):
            # read it together with the previous question before giving up.
            joined = f"{previous[-1]} {clean.text}"
            joined_query, joined_passages, joined_refuse = self._search(joined)
            if not joined_refuse:
                text, query, passages, refuse = joined, joined_query, joined_passages, False
        base = Answer(question=clean.text, answer="", refused=False, retrieved=passages, notices=notices, query=text)
        if DEFINITION_QUESTION.search(query.folded) and (term := self._mentioned_term(query.folded)):
            mentions = self._unexplained_mentions(term)
            if mentions:
                return self._finish(base, compose(mentions, render("mentioned_not_explained", term=term)))
        if refuse:
            return self._refuse(base)
        generation_started = time.perf_counter()
        draft = self.generator.generate(text, query, passages, on_token=on_token)  # the resolved question
        if draft.first_token_ms is not None:
            base.first_token_ms = (generation_started - started) * 1000 + draft.first_token_ms
        return self._finish(base, draft)

    def _finish(self, answer: Answer, draft: Draft) -> Answer:
        if draft.refused:
            return self._refuse(answer)
        answer.answer = "\n".join([*answer.notices, draft.text]) if answer.notices else draft.text
        answer.citations = draft.citations
        return answer

    def _refuse(self, answer: Answer) -> Answer:
        """The refusal, offering the two or three closest topics the article does cover."""
        topics: list[str] = []
        for passage in answer.retrieved:
            name = section_name(passage.chunk.heading_path[-1]) if passage.chunk.heading_path else ""
            if name and name not in topics and not YEAR.search(name):
                topics.append(name)
        lines = [*answer.notices, render("refusal")]
        if topics:
            lines.append(render("refusal_topics", topics="、".join(f"“{t}”" for t in topics[:3])))
        answer.refused = True
        answer.answer = "\n".join(lines)
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
    embedder = load_embedder(
        settings.embedding_model, settings.cache_dir, settings.offline, log=log, runtime=settings.embedding_runtime
    )
    corpus, _ = open_index(
        settings.index_dir(), documents, embedder, settings.faiss_index, settings.chunk_context,
        log=log, progress=progress, rebuild=rebuild,
    )
    tokenizer = JiebaTokenizer(quoted_terms(d.text for d in documents), settings.cache_dir)
    retriever = Retriever(corpus, embedder, tokenizer, settings.retrieval_weights())
    generator = build_generator(settings, retriever, log)
    policy = RefusalPolicy(
        settings.refuse_below_dense, settings.accept_foreign_above_dense, settings.refuse_below_dense_other_script
    )  # the Settings defaults are RefusalPolicy's own
    return AnswerEngine(
        retriever, generator=generator, policy=policy, top_k=settings.top_k, mode=settings.retrieval_mode,
        max_question_chars=settings.max_question_chars, max_history_turns=settings.max_history_turns,
    )


def build_generator(settings: Settings, retriever: Retriever, log: Callable[[str], None] = print) -> Generator:
    """The configured answer generator; a generative one that cannot load falls back to
    the extractive engine, with a one-line message."""
    extractive = ExtractiveGenerator(retriever)
    if settings.generator == "extractive":
        return extractive
    from .llm import BackendUnavailable, LLMGenerator, OpenAIBackend, TransformersBackend, bundled_qwen
    from .verify import Verifier

    verifier = Verifier(
        retriever, settings.verify_min_similarity, settings.show_unverified, settings.verify_min_word_overlap
    )
    try:
        if settings.generator == "openai":
            key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
            backend = OpenAIBackend(settings.openai_base_url, settings.openai_model, key, settings.llm_timeout,
                                    settings.llm_retries)
        else:
            llm_cache = settings.cache_dir / "llm"
            path = bundled_qwen(llm_cache) if settings.llm_model == "bundled" else Path(settings.llm_model)
            log(f"Loading the language model {path.name} (the first load of a GGUF file dequantises it) …")
            backend = TransformersBackend(path, llm_cache, settings.llm_max_new_tokens)
    except BackendUnavailable as e:
        log(f"Generative answers are off: {e}. Using extractive answers.")
        return extractive
    return LLMGenerator(backend, verifier, extractive)
