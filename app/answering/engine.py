"""The answer engine: question + history → cited Answer (or an honest refusal).

Retrieval finds passages; the answer scorer (scorer.py) judges every sentence of them:
how likely any answers the question, and which. Below the refusal threshold the engine
refuses; otherwise the generator quotes the sentences the selection policy keeps."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Protocol

from nanhai_qa.app.generation import GeneratorKind
from nanhai_qa.app.profile import CorpusProfile, load_profile
from nanhai_qa.app.prompts import ENGLISH, TRADITIONAL, prompt, render, to_traditional
from nanhai_qa.app.settings import Settings
from nanhai_qa.index import (
    Passage,
    Query,
    RetrievalMode,
    Retriever,
    fold,
    load_embedder,
    open_retriever,
    quoted_terms,
    section_name,
)
from nanhai_qa.ingest import Chunk, ExtractionCache, Skipped, Span, read_documents
from nanhai_qa.ingest.patterns import YEAR

from .extractive import AnswerStyle, Draft, ExtractiveGenerator, SelectionPolicy, compose
from .followup import QuestionFrame, is_said, resolve_followup, said_before, without_exchanges
from .models import Answer, Message
from .overview import MAX_DOCUMENTS, asks_about_part, asks_overview, openings, outline, part_outline
from .scorer import QUESTION_TYPES, AnswerScorer, CandidateFeatures, Judgement, load_scorer
from .small_talk import SmallTalk, small_talk, without_small_talk
from .topic_words import MIN_RARITY, TopicWords
from .validate import clean_question

# A question about what a term means or which members it counts ("“五个不发生”是指哪五个？",
# "“1114”工作体系是什么？"). "Which one" (哪一个, 哪个国家) and an attribute of the term ("…的职业是
# 什么", "…是什么类型的医院") ask a fact about it that a sentence may well give: the scorer decides.
DEFINITION_QUESTION = re.compile(
    r"什么意思|啥意思|咩意思|乜意思|含义|意思是|(?:指|是指|指的是|代表)(?:什么|啥)|什么是|"
    r"是(?:什么|啥)[\s?？!！。呢啊呀吖嘅]*$|"
    r"哪(?:几|[二两三四五六七八九十百]+)|分别(?:是|指|有)|包括哪|"
    r"\bwhat (is|are|does)\b|\bmean|\bstand for\b",
    re.I,
)
# A question asks what a term itself means only when little else is asked: at most this many
# characters (or English words) besides the term ("“三走”工作是走哪三个？", but not "“三走”工作是
# 哪一年由哪个部门提出的？", which asks a fact about it that a sentence may well give).
DEFINITION_REST = 10
# A sentence that defines a term it mentions: "X是指…", "X即…", "X包括…", "X：…" (these may
# come a few characters after it), or "“X”为…", "“X”指…", "X是…" right after it.
DEFINES = "是指|指的是|即|就是|包括|包含|分别是|：|:"
COPULA = "为|指|是"
# A question asking which members a group it counts has ("39家隐形冠军都是哪些？", "10方面30项改革
# 具体是哪30项？", "系边七个"): the count ("39家") is where the question got it from. When the
# sentences that give that count list nothing (no enumeration, no "分别是", "：", "包括"), the corpus
# does not answer, and the answer says where it gives the count (AnswerEngine._unlisted_group).
# Folded, so Cantonese 边啲 / 边几 read 哪些 / 哪几, and 系边 reads 是边.
ASKS_MEMBERS = re.compile(r"哪些|哪几|分别|具体是哪|都是哪|是哪[两三四五六七八九十百\d]|名单|清单|都有谁|包括哪|是边")
NOT_IN_A_NUMBER = r"(?<![\d.〇一二两三四五六七八九十百千万])"  # "2条" is not in "12条", nor "三个" in "十三个"
COUNTED = re.compile(
    NOT_IN_A_NUMBER + r"(?:\d+|[两三四五六七八九十百千]+)"
    r"(?:个|家|项|条|类|种|所|位|名|座|件|批|大|方面|支|门|部|本|首|场|届|队)"
)
LISTS = re.compile(r"[、；;：:]|分别|包括|包含|即|如下")
CLAUSE = re.compile(r"[^，,。；;！!？?]+")
# A year named in a question ("2024年", "in 2019"), not a count that looks like one ("2000个").
YEAR_MENTION = re.compile(r"(?<![\d.])(?:19|20)\d{2}(?=\s*(?:年|的|$|[\s,，.。?？!！、)）]))")

TokenCallback = Callable[[str], None]


class Generator(Protocol):
    name: str

    def generate(
        self, question: str, query: Query, passages: list[Passage], judgement: Judgement,
        style: AnswerStyle | None = None, on_token: TokenCallback | None = None,
    ) -> Draft: ...


@dataclass(frozen=True)
class Retrieval:
    """What was searched, what was found, and what the scorer made of it."""

    text: str
    query: Query
    passages: list[Passage]
    judgement: Judgement
    refuse: bool


def corpus_topic_words(
    retriever: Retriever, profile: CorpusProfile, folded_corpus: str | None = None,
) -> TopicWords | None:
    """What names a topic in this corpus (topic_words.py); None for a tokenizer that does not tag
    words. `folded_corpus`: its documents' text, folded."""
    if folded_corpus is None:
        folded_corpus = fold("\n".join(d.text for d in retriever.corpus.documents.values()))
    return TopicWords.of(retriever.tokenizer, folded_corpus, map(fold, profile.own_words()))


def question_frame(
    retriever: Retriever, profile: CorpusProfile, topic_words: TopicWords | None = None,
) -> QuestionFrame:
    """The frame of questions about this corpus: its periods' years, the profile's words, and
    what names a topic in it (default: corpus_topic_words)."""
    years = {c.period.split()[0] for c in retriever.corpus.chunks if c.period.split()}
    topic_words = topic_words or corpus_topic_words(retriever, profile)
    return QuestionFrame(profile, {y for y in years if YEAR.fullmatch(y)}, topic_words)


# A question asking whether something happened in a year, or which of two times it was
# ("水上巴士去年就已经开通了吧？", "是今年才开，还是已经开了？"), is answered by what the corpus says of
# any year: that it happened in another is the answer. One asking a figure too ("今年还要加多少个
# 学位，有目标吗") is not: a figure for another year does not answer it.
ASKS_WHETHER = re.compile(f"{QUESTION_TYPES['yesno'].pattern}|还是|吧[?？!！。]*$", re.I)
ASKS_A_FIGURE = re.compile("|".join(QUESTION_TYPES[t].pattern for t in ("number", "money", "time")), re.I)


def search(
    retriever: Retriever, frame: QuestionFrame, text: str, top_k: int, mode: RetrievalMode,
) -> tuple[Query, list[Passage], list[Passage]]:
    """Retrieval for a (resolved) question: (query, passages best first, the passages that may
    answer it). A question that points at a year ranks that year's passages first, and only
    they and undated ones may answer it: a figure for another year is not its answer. One
    asking whether (ASKS_WHETHER) may be answered from any year."""
    query = retriever.prepare(text)
    year = frame.year_of(text)
    passages = retriever.search(query, k=top_k, mode=mode, period=year)
    if not year or ASKS_WHETHER.search(query.folded) and not ASKS_A_FIGURE.search(query.folded):
        return query, passages, passages
    return query, passages, [p for p in passages if p.chunk.period.startswith(year) or not YEAR.match(p.chunk.period)]


class AnswerEngine:
    def __init__(
        self, retriever: Retriever, scorer: AnswerScorer, generator: Generator | None = None,
        profile: CorpusProfile | None = None, refuse_below: float | None = None,
        selection: SelectionPolicy | None = None, top_k: int = 5, mode: RetrievalMode = RetrievalMode.FUSED,
        max_question_chars: int = 500, max_history_turns: int = 20,
        unmentioned_rarity: float | None = MIN_RARITY,
    ) -> None:
        """`unmentioned_rarity`: an answer names the question's topic words at least this rare
        that the corpus never uses (topic_words.py); None: it never does."""
        self.retriever = retriever
        self.scorer = scorer
        self.features = CandidateFeatures(retriever)
        self.selection = selection or SelectionPolicy()
        self.extractive = ExtractiveGenerator(self.selection)
        self.generator = generator or self.extractive
        self.profile = profile or CorpusProfile()
        self.refuse_below = refuse_below
        self.top_k = top_k
        self.mode = mode
        self.max_question_chars = max_question_chars
        self.max_history_turns = max_history_turns
        documents = list(retriever.corpus.documents.values())
        # The corpus's quoted terms, longest first, with their folded forms (folded once, not per question).
        self.terms = {t: fold(t) for t in sorted(quoted_terms(d.text for d in documents), key=len, reverse=True)}
        self.years = {y for d in documents for y in YEAR.findall(d.text)}
        self.folded_text = fold("\n".join(d.text for d in documents))
        topic_words = corpus_topic_words(retriever, self.profile, self.folded_text)
        self.frame = question_frame(retriever, self.profile, topic_words)
        self.unmentioned = (
            replace(topic_words, min_rarity=unmentioned_rarity).unmentioned
            if topic_words is not None and unmentioned_rarity is not None else None
        )
        self.style = AnswerStyle(
            titles={d.id: d.title for d in documents} if len(documents) > 1 else {},
            dated=frozenset(d.id for d in documents if d.has_periods),
        )

    def retrieve(self, text: str, mode: RetrievalMode | None = None, said: str = "") -> Retrieval:
        """Search for `text` and judge what was found; `refuse` says whether nothing answers it.
        Sentences wholly in `said` (the last answer, folded, for a question asking for more) are
        not candidates."""
        query, passages, answering = search(self.retriever, self.frame, text, self.top_k, mode or self.mode)
        candidates = [c for c in self.features.candidates(answering) if not is_said(c.sentence.text, said)]
        judgement = self.scorer.judge(self.features.matrix(query, candidates), candidates, query.text)
        # A question naming a year no document mentions cannot be answered from them.
        unknown_year = any(y not in self.years for y in YEAR_MENTION.findall(query.folded))
        threshold = judgement.refuse_below if self.refuse_below is None else self.refuse_below
        refuse = not candidates or unknown_year or judgement.answerable < threshold
        return Retrieval(text, query, passages, judgement, refuse)

    def answer(
        self, question: object, history: list[Message] | None = None, on_token: TokenCallback | None = None,
        generator: Generator | None = None, mode: RetrievalMode | None = None,
    ) -> Answer:
        """`on_token` receives generated text as it streams (generative backends only); the
        returned Answer holds the verified text. `generator` and `mode` override the engine's
        own for this answer (the chat page's answer-mode switch, eval ablations)."""
        started = time.perf_counter()
        answer = self._answer(question, history or [], on_token, started, generator or self.generator, mode)
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def warm_up(self, generator: Generator | None = None) -> None:
        """Answers one question so that lazily loaded parts (jieba's dictionary, about 1 s; a
        language model's first run and its instructions) are ready before the first resident asks."""
        self.answer(self.profile.warm_up or prompt("warm_up_question"), generator=generator)

    def _answer(
        self, question: object, history: list[Message], on_token: TokenCallback | None, started: float,
        generator: Generator, mode: RetrievalMode | None,
    ) -> Answer:
        clean = clean_question(question, self.max_question_chars)
        if clean.error:
            return Answer(question=str(question or ""), answer=clean.error, refused=False, error=clean.error)
        script = clean.script
        if talk := small_talk(clean.text):
            return Answer(question=clean.text, answer=self._small_talk(talk, script), refused=False)
        style = replace(self.style, script=script)
        notices = list(clean.notices)
        if len(history) > 2 * self.max_history_turns:
            history = history[-2 * self.max_history_turns :]
            notices.append(render("notice_history_trimmed", script, turns=self.max_history_turns))
        history = without_exchanges(history, asked_aside)
        asked = without_small_talk(clean.text)
        text = resolve_followup(asked, history, self.frame)
        # a question about a document, or one year's part of it, as a whole gets its outline (overview.py)
        overview = asks_overview(asked)
        year = None if overview else asks_about_part(text, self.frame)
        if overview or year:
            # what a search finds is still reported (the batch schema's `retrieved`), not quoted
            _, passages, _ = search(self.retriever, self.frame, text, self.top_k, mode or self.mode)
            gist = Answer(question=clean.text, answer="", refused=False, retrieved=passages, notices=notices,
                          query=text)
            outlined = self._overview(gist, style) if year is None else self._part_overview(gist, year, style)
            if outlined is not None:
                return outlined
        found = self.retrieve(text, mode, said_before(asked, history))
        base = Answer(
            question=clean.text, answer="", refused=False, retrieved=found.passages, notices=notices,
            query=found.text, answerable=found.judgement.answerable,
        )
        if mentioned := self._mentioned_only(found.query.folded):
            # the corpus does not answer, and says where it mentions what was asked about
            lead, term, mentions = mentioned
            answer = self._finish(base, compose(mentions, render(lead, script, term=term), style), style)
            answer.refused = True
            return answer
        if self.unmentioned:  # kept with refusals too (the staff desk counts them); named only in answers
            base.unmentioned = self.unmentioned(fold(clean.text))
        if found.refuse:
            return self._refuse(base, style)
        generation_started = time.perf_counter()
        draft = generator.generate(found.text, found.query, found.passages, found.judgement, style, on_token)
        if draft.first_token_ms is not None:
            base.first_token_ms = (generation_started - started) * 1000 + draft.first_token_ms
        return self._finish(base, draft, style)

    def _small_talk(self, talk: SmallTalk, script: str) -> str:
        """The reply to a greeting (what the assistant does, and up to three of the profile's
        example questions) or to thanks."""
        questions = [to_traditional(q) if script == TRADITIONAL else q for q in self.profile.examples[:3]]
        examples = render("small_talk_examples", script, questions=quoted_list(questions, script)) if questions else ""
        return render(talk.value, script, examples=examples).strip()

    def _overview(self, answer: Answer, style: AnswerStyle) -> Answer:
        """The gist of the document (overview.py): its opening and each part's first sentence;
        with several documents, how each opens."""
        documents = list(self.retriever.corpus.documents.values())
        if len(documents) == 1:
            quotes, lead = outline(documents[0]), render("overview", style.script)
        else:
            quotes = openings(documents)
            wording = "overview_documents" if len(quotes) == len(documents) else "overview_some_documents"
            lead = render(wording, style.script, count=len(documents), shown=len(quotes))
        return self._finish(answer, compose(quotes, lead, style), style)

    def _part_overview(self, answer: Answer, year: str, style: AnswerStyle) -> Answer | None:
        """The gist of the dated documents' part for `year`: its opening sentence and its
        sections' headings; None when no document has such a part."""
        documents = [d for d in self.retriever.corpus.documents.values() if d.id in style.dated]
        quotes = [q for d in documents[:MAX_DOCUMENTS] for q in part_outline(d, year)]
        if not quotes:
            return None
        return self._finish(answer, compose(quotes, render("part_overview", style.script, year=year), style), style)

    def _finish(self, answer: Answer, draft: Draft, style: AnswerStyle) -> Answer:
        answer.verified = None if draft.verified is None else list(draft.verified)
        if draft.refused:
            return self._refuse(answer, style)
        # the question's words come folded (Simplified): shown in the asker's script
        words = [to_traditional(w) for w in answer.unmentioned] if style.script == TRADITIONAL else answer.unmentioned
        lead = [render("unmentioned_words", style.script, words=quoted_list(words, style.script))] if words else []
        answer.answer = "\n".join([*answer.notices, *lead, draft.text])
        answer.citations = draft.citations
        return answer

    def _refuse(self, answer: Answer, style: AnswerStyle) -> Answer:
        """The refusal, offering the two or three closest topics the corpus does cover."""
        topics: list[str] = []
        for passage in answer.retrieved:
            name = section_name(passage.chunk.heading_path[-1]) if passage.chunk.heading_path else ""
            if name and name not in topics and not YEAR.search(name):
                topics.append(name)
        lines = [*answer.notices, render("refusal", style.script)]
        if topics:
            lines.append(render("refusal_topics", style.script, topics=quoted_list(topics[:3], style.script)))
        answer.refused = True
        answer.answer = "\n".join(lines)
        return answer

    def _folded_sentence_texts(self) -> Iterator[str]:
        """The folded sentences, read (and on the first call folded) only when iterated."""
        for _, _, folded in self._folded_sentences:
            yield folded

    @cached_property
    def _folded_sentences(self) -> list[tuple[Chunk, Span, str]]:
        """Every sentence of the corpus with its folded text, folded once (on the first definition question)."""
        return [(c, s, fold(s.text)) for c in self.retriever.corpus.chunks for s in c.sentences]

    def _unexplained_mentions(self, term: str) -> list[tuple[Chunk, Span]]:
        """The sentences mentioning `term`, or [] when one of them explains it."""
        term = fold(term)
        mentions = [(c, s, folded) for c, s, folded in self._folded_sentences if term in folded]
        if any(defines(term, folded) for _, _, folded in mentions):
            return []
        return [(c, s) for c, s, _ in mentions]

    def _mentioned_only(self, folded_question: str) -> tuple[str, str, list[tuple[Chunk, Span]]] | None:
        """(the lead's wording, the term, the sentences mentioning it) for a question asking what
        a term means when the corpus only mentions it, or which members a group it counts has
        when the corpus lists none; None for any other question."""
        term = asked_term(folded_question, self.terms, self.folded_text, self._folded_sentence_texts())
        if term and (mentions := self._unexplained_mentions(term)):
            return "mentioned_not_explained", term, mentions
        if group := self._unlisted_group(folded_question):
            return "mentioned_not_listed", *group
        return None

    def _unlisted_group(self, folded_question: str) -> tuple[str, list[tuple[Chunk, Span]]] | None:
        """For a question asking the members of a group it counts (ASKS_MEMBERS, COUNTED), when
        the corpus's sentences giving that count list none: the clause giving it ("新认定隐形冠军
        企业39家") and those sentences. None when the question asks no such thing, or when the
        count is not in a sentence (a heading's "三件要事" has its members as the sections
        under it) or a sentence giving it lists: the scorer decides."""
        if not ASKS_MEMBERS.search(folded_question):
            return None
        for count in COUNTED.findall(folded_question):
            exact = re.compile(NOT_IN_A_NUMBER + re.escape(count))
            mentions = [(c, s, folded) for c, s, folded in self._folded_sentences if exact.search(folded)]
            if mentions and not any(LISTS.search(folded) for _, _, folded in mentions):
                first = mentions[0][1].text
                clause = next((c for c in CLAUSE.findall(first) if exact.search(fold(c))), count)
                return clause.strip(), [(c, s) for c, s, _ in mentions]
        return None


def asked_aside(message: str) -> bool:
    """Whether a user's message names no topic a follow-up could go on with: small talk, or a
    request for the document's overview ("那明年呢？" after it is read alone)."""
    return small_talk(message) is not None or asks_overview(message)


def quoted_list(items: list[str], script: str) -> str:
    """“医疗”、“教育” (English: “a”, “b”)."""
    return (", " if script == ENGLISH else "、").join(f"“{item}”" for item in items)


def defines(term: str, folded_sentence: str) -> bool:
    """Whether the sentence says what the (folded) term is: "X是指…", "“X”为…" (DEFINES, COPULA)."""
    return re.search(
        re.escape(term) + r"(?:[^，。；！？]{0,12}?[”」』\"]?\s*(?:" + DEFINES + r")|[”」』\"]?\s*(?:" + COPULA + "))",
        folded_sentence,
    ) is not None


def asked_term(
    folded_question: str, terms: dict[str, str], folded_text: str, folded_sentences: Iterable[str]
) -> str | None:
    """The term of the corpus whose meaning the question asks: one the corpus puts in quotation
    marks (`terms`, longest first, each with its folded form), or one the question quotes that
    the corpus uses (“七湖三湾” of “七湖三湾一站一园”), when what the question says besides it
    is a short definition request."""
    if not DEFINITION_QUESTION.search(folded_question):  # most questions: no need to look further
        return None
    named = next((term for term, folded in terms.items() if folded in folded_question), None)
    if named is None:
        quoted = sorted(quoted_terms([folded_question]), key=len, reverse=True)
        named = next((t for t in quoted if t in folded_text), None)
    if named is None:
        return None
    # The question's subject is the phrase around the term that a sentence of the corpus also
    # has ("“3+1”国资集团", not only "3+1"); what is asked is the rest.
    folded_term = fold(named)
    subject = max((shared_around(folded_question, s, folded_term) for s in folded_sentences), key=len,
                  default=folded_term)
    rest = folded_question.replace(subject, " ", 1)
    if len(re.findall(r"[a-z0-9]+|[^\W\d_a-z]", rest)) > DEFINITION_REST:
        return None
    return named if DEFINITION_QUESTION.search(rest) else None


def shared_around(text: str, other: str, term: str) -> str:
    """The longest piece of `text` around its first `term` that `other` also holds."""
    at = text.find(term)
    if at < 0 or term not in other:
        return term
    start, end = at, at + len(term)
    while start > 0 and text[start - 1 : end] in other:
        start -= 1
    while end < len(text) and text[start : end + 1] in other:
        end += 1
    return text[start:end]


def build_retriever(
    settings: Settings, profile: CorpusProfile, log: Callable[[str], None] = print,
    progress: Callable[[str, int, int], None] | None = None, rebuild: bool = False,
    on_skip: Callable[[Skipped], None] | None = None,
) -> Retriever:
    """Load (or build once) the model and the index of the configured corpus. Files that
    cannot be read are left out, each passed to `on_skip` (default: logged in one line)."""
    cache_dir, retrieval = settings.storage.cache_dir, settings.retrieval
    documents = read_documents(settings.corpus, on_skip=on_skip or (lambda skipped: log(str(skipped))),
                               cache=ExtractionCache(cache_dir / "extracted"))
    embedder = load_embedder(
        retrieval.embedding_model, cache_dir, retrieval.offline, log=log, runtime=retrieval.embedding_runtime
    )
    return open_retriever(
        settings.index_dir(), documents, embedder, cache_dir, retrieval.faiss(), retrieval.chunk_context,
        retrieval.weights(), profile.expansions(), profile.setting_words, log=log, progress=progress,
        rebuild=rebuild, readonly=settings.storage.index_readonly and not rebuild,
    )


def build_engine(
    settings: Settings, log: Callable[[str], None] = print,
    progress: Callable[[str, int, int], None] | None = None, rebuild: bool = False,
    on_skip: Callable[[Skipped], None] | None = None,
) -> AnswerEngine:
    """Load (or build once) everything the engine needs, from the settings."""
    profile = load_profile(settings.profile_path())
    return engine_for(build_retriever(settings, profile, log, progress, rebuild, on_skip), settings, profile, log)


def engine_for(
    retriever: Retriever, settings: Settings, profile: CorpusProfile, log: Callable[[str], None] = print,
) -> AnswerEngine:
    """The engine over `retriever`, with the answer scorer, thresholds and generator the settings name."""
    answer = settings.answer
    scorer = load_scorer(answer.scorer)
    selection = SelectionPolicy(answer.keep_share, answer.max_sentences, answer.max_list_sentences)
    generator = build_generator(settings, retriever, selection, log)
    return AnswerEngine(
        retriever, scorer, generator=generator, profile=profile, refuse_below=answer.refuse_below,
        selection=selection, top_k=settings.retrieval.top_k, mode=settings.retrieval.mode,
        max_question_chars=answer.max_question_chars, max_history_turns=answer.max_history_turns,
        unmentioned_rarity=answer.unmentioned_rarity,
    )


def build_generator(
    settings: Settings, retriever: Retriever, selection: SelectionPolicy, log: Callable[[str], None] = print,
) -> Generator:
    """The configured answer generator; a generative one that cannot load falls back to
    the extractive engine, with a one-line message."""
    extractive = ExtractiveGenerator(selection)
    generation = settings.generation
    if generation.generator == GeneratorKind.EXTRACTIVE:
        return extractive
    from nanhai_qa.app.generation.llm import (
        BackendUnavailable,
        LlamaCppBackend,
        LLMGenerator,
        OpenAIBackend,
        TransformersBackend,
        bundled_qwen,
    )
    from nanhai_qa.app.generation.verify import Verifier

    verifier = Verifier(
        retriever, generation.verify_min_similarity, generation.show_unverified, generation.verify_min_word_overlap
    )
    try:
        if generation.generator == GeneratorKind.OPENAI:
            key = generation.openai_api_key.get_secret_value() if generation.openai_api_key else ""
            backend = OpenAIBackend(generation.openai_base_url, generation.openai_model, key, generation.llm_timeout,
                                    generation.llm_retries)
        else:
            llm_cache = settings.storage.cache_dir / "llm"
            path = bundled_qwen(llm_cache) if generation.llm_model == "bundled" else Path(generation.llm_model)
            if generation.generator == GeneratorKind.LLAMACPP:
                log(f"Loading the language model {path.name} with llama.cpp …")
                backend = LlamaCppBackend(path, generation.llm_threads, generation.llm_context,
                                          generation.llm_max_new_tokens)
            else:
                log(f"Loading the language model {path.name} (the first load of a GGUF file dequantises it) …")
                backend = TransformersBackend(path, llm_cache, generation.llm_max_new_tokens, log)
    except BackendUnavailable as e:
        log(f"Generative answers are off: {e}. Using extractive answers.")
        return extractive
    return LLMGenerator(backend, verifier, extractive, generation.llm_max_excerpts,
                        generation.trust_model_refusals)
