"""Training and calibration examples for the answer scorer: one row of features per
(question, candidate sentence), labelled 1 when the sentence holds the gold answer.

For each reading-comprehension question, the candidates are the sentences of the passages
retrieved for it twice: from its split's corpus (its own paragraph's sentences: the one
holding the answer is positive, the others negative) and from that corpus without its
paragraph (all negative: what an unanswerable question meets). Sentences that hold a gold
answer string elsewhere are left out, being neither clearly right nor clearly wrong.
For the article's eval items, the sentences overlapping an evidence string are positive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from nanhai_qa.app.answering.engine import search
from nanhai_qa.app.answering.followup import QuestionFrame, resolve_followup
from nanhai_qa.app.answering.models import parse_history
from nanhai_qa.app.answering.scorer import Candidate, CandidateFeatures, script_of
from nanhai_qa.index import Embedder, Passage, Query, Retriever, open_retriever
from nanhai_qa.ingest import Chunk, Document, Span

from .mrc import SPLIT_OF_BUCKET, MrcQuestion, _bucket


@dataclass
class Examples:
    """Feature rows, labels, and which question (group) each row belongs to."""

    features: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # one per block of rows
    answerable: list[bool] = field(default_factory=list)  # one per group: can its question be answered
    sources: list[str] = field(default_factory=list)  # one per group: "mrc" or "article"
    scripts: list[str] = field(default_factory=list)  # one per group: its question's script (app.scorer.SCRIPTS)

    def add(self, group: str, query: Query, features: np.ndarray, labels: np.ndarray, answerable: bool,
            source: str) -> None:
        self.features.append(features)
        self.labels.append(labels)
        self.groups.append(group)
        self.answerable.append(answerable)
        self.sources.append(source)
        self.scripts.append(script_of(query.text))

    def only(self, script: str) -> Examples:
        """The groups whose question is in `script`."""
        keep = [i for i, s in enumerate(self.scripts) if s == script]
        return Examples(*([getattr(self, name)[i] for i in keep] for name in (
            "features", "labels", "groups", "answerable", "sources", "scripts")))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, y, group index of each row)."""
        sizes = [len(f) for f in self.features]
        X = np.concatenate(self.features) if self.features else np.zeros((0, 1), np.float32)
        y = np.concatenate(self.labels) if self.labels else np.zeros(0)
        return X, y, np.repeat(np.arange(len(sizes)), sizes)


def retriever_for(
    documents: list[Document], embedder: Embedder, cache: Path, log: Callable[[str], None] = print,
) -> Retriever:
    """A retriever over a public corpus with the default settings, its index kept in `cache`."""
    return open_retriever(cache, documents, embedder, cache.parent, log=log)


def mrc_examples(
    retriever: Retriever, questions: Iterable[MrcQuestion], top_k: int, examples: Examples,
    leave_own_out: bool = True, answerable: bool = True, dropped_scripts: frozenset[str] = frozenset(),
) -> None:
    """`answerable`: whether the questions' paragraphs are in the retriever's corpus.
    `leave_own_out` (training) adds two unanswerable versions of each question: the passages
    retrieved without its paragraph, and its own passages with the answer cut out of the
    sentence holding it (the sentence still speaks of the subject, but not of what is asked:
    what a question about a detail the text leaves out meets). For questions in
    `dropped_scripts` (app.scorer.SCRIPTS), a third: its own passages without that sentence (the
    paragraph's other sentences speak of the subject, none of what is asked)."""
    features = CandidateFeatures(retriever)
    searched = [(q, *_search(retriever, q.question, top_k + 1)) for q in questions]
    cut = {q.id: _without_answer(q, passages[:top_k]) for q, _, passages in searched} if leave_own_out else {}
    cut = {k: v for k, v in cut.items() if v}
    dropped = {
        q.id: d for q, _, passages in searched
        if leave_own_out and script_of(q.question) in dropped_scripts and (d := _without_sentence(q, passages[:top_k]))
    }
    cut_vectors = retriever.embedder.embed_passages([v[1] for v in cut.values()]) if cut else []
    cut_vector = dict(zip(cut, cut_vectors, strict=True))
    for q, query, passages in searched:
        versions = [("own", passages[:top_k], answerable, None)]
        if leave_own_out:
            versions.append(("without", [p for p in passages if p.chunk.doc != q.doc][:top_k], False, None))
        if q.id in cut:
            chunk, _, index = cut[q.id]
            own = _with_chunk(passages[:top_k], chunk)
            vectors = retriever.sentence_vectors(chunk).copy()
            vectors[index] = cut_vector[q.id]
            versions.append(("cut", own, False, (chunk.id, vectors)))
        if q.id in dropped:
            chunk, index = dropped[q.id]
            own = _with_chunk(passages[:top_k], chunk)
            vectors = np.delete(retriever.sentence_vectors(chunk), index, axis=0)  # the index's, by chunk id
            versions.append(("dropped", own, False, (chunk.id, vectors)))
        for name, chosen, can_answer, replaced in versions:
            candidates = [c for c in features.candidates(chosen) if not _elsewhere(c, q)]
            if not candidates:
                continue
            labels = np.array([name == "own" and _holds_gold(c, q) for c in candidates], dtype=np.float32)
            sentence_vectors = (
                (lambda c, r=replaced: r[1] if c.id == r[0] else retriever.sentence_vectors(c)) if replaced else None
            )
            examples.add(f"{q.id}/{name}", query, features.matrix(query, candidates, sentence_vectors), labels,
                         can_answer, "mrc")


def _search(retriever: Retriever, question: str, k: int) -> tuple[Query, list[Passage]]:
    query = retriever.prepare(question)
    return query, retriever.search(query, k=k)


def _with_chunk(passages: list[Passage], chunk: Chunk) -> list[Passage]:
    """The passages with the one of `chunk`'s id holding `chunk` (an altered version of it) instead."""
    return [Passage(chunk, p.score, p.cosine, p.lexical) if p.chunk.id == chunk.id else p for p in passages]


def _answer_sentence(q: MrcQuestion, passages: list[Passage]) -> tuple[Chunk, int] | None:
    """The retrieved chunk of q's paragraph and the index of the sentence holding its answer;
    None when the paragraph was not retrieved."""
    own = next((p.chunk for p in passages if p.chunk.doc == q.doc), None)
    index = next((i for i, s in enumerate(own.sentences) if s.start <= q.start < s.end), None) if own else None
    return None if index is None else (own, index)


def _without_answer(q: MrcQuestion, passages: list[Passage]) -> tuple[Chunk, str, int] | None:
    """The chunk holding q's answer with the answer cut out of its sentence: (chunk, the cut
    sentence, its index); None when the paragraph was not retrieved or little would remain."""
    if (found := _answer_sentence(q, passages)) is None:
        return None
    own, index = found
    span = own.sentences[index]
    cut = span.text[: q.start - span.start] + span.text[min(q.end, span.end) - span.start :]
    if len(cut) < 8 or len(cut) < len(span.text) / 3:
        return None
    sentences = list(own.sentences)
    sentences[index] = Span(span.start, span.end, cut)
    text = own.text[: span.start - own.start] + cut + own.text[span.end - own.start :]
    return replace(own, text=text, sentences=tuple(sentences)), cut, index


def _without_sentence(q: MrcQuestion, passages: list[Passage]) -> tuple[Chunk, int] | None:
    """The chunk holding q's answer without the sentence holding it, and that sentence's index;
    None when the paragraph was not retrieved or that sentence is all of it."""
    if (found := _answer_sentence(q, passages)) is None or len(found[0].sentences) < 2:
        return None
    own, index = found
    span = own.sentences[index]
    text = own.text[: span.start - own.start] + own.text[span.end - own.start :]
    return replace(own, text=text, sentences=own.sentences[:index] + own.sentences[index + 1 :]), index


def article_split(item: dict, document: Document) -> str:
    """An eval item's split, by the paragraph (chunk) holding its first evidence; an
    unanswerable item, having none, by its question."""
    evidence = item["evidence"][0] if item["evidence"] else ""
    start = document.text.find(evidence) if evidence else -1
    chunk = next((c for c in document.chunks if evidence and c.start <= start < c.end), None)
    key = f"article:{chunk.text}" if chunk else f"article-question:{item['question']}"
    return SPLIT_OF_BUCKET[_bucket(key, len(SPLIT_OF_BUCKET))]


def article_examples(
    retriever: Retriever, frame: QuestionFrame, items: Iterable[dict], top_k: int, mode: str, examples: Examples,
) -> None:
    """Examples from eval items about documents of `retriever`: sentences overlapping an
    evidence string are positive."""
    features = CandidateFeatures(retriever)
    documents = retriever.corpus.documents.values()
    for item in items:
        spans = [
            (d.id, start, start + len(e)) for e in item["evidence"] for d in documents
            if (start := d.text.find(e)) >= 0
        ]
        text = resolve_followup(item["question"], parse_history(item["history"]), frame)
        query, _, answering = search(retriever, frame, text, top_k, mode)
        candidates = features.candidates(answering)
        if not candidates:
            continue
        labels = np.array([
            any(c.chunk.doc == doc and c.sentence.start < end and start < c.sentence.end for doc, start, end in spans)
            for c in candidates
        ], dtype=np.float32)
        examples.add(item["id"], query, features.matrix(query, candidates), labels, bool(item["answerable"]), "article")


def _holds_gold(c: Candidate, q: MrcQuestion) -> bool:
    return c.chunk.doc == q.doc and c.sentence.start <= q.start < c.sentence.end


def _elsewhere(c: Candidate, q: MrcQuestion) -> bool:
    """The sentence holds a gold answer string but is not where the answer was marked."""
    return not _holds_gold(c, q) and any(a in c.sentence.text for a in q.answers)
