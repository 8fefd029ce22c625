"""The extractive answer generator: answers only with the source's own sentences,
each followed by its citation marker, grouped by the part of the article (2022
review / 2023 plan) they come from."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index import Passage, Query, Retriever
from ingest import Chunk, Span

from .models import Citation
from .prompts import render

NUMBER_QUESTION = re.compile(
    r"多少|几[个家项条倍亩年万千百成]|几多|百分之|比例|增长了?多|how (many|much)|percent|多大|多高"
)
LIST_QUESTION = re.compile(
    r"哪些|哪几|几[件条招项个]|都有|都讲|讲了什么|包括|有什么|有啥|做了什么|做了啥|做什么|干什么|干了什么|怎么|如何|"
    r"打算|措施|举措|安排|重点|任务|"
    r"\bwhat (are|did|will|does)\b|\bplans?\b|\bhow (will|does|did)\b|\bwhich\b",
    re.I,
)
HAS_NUMBER = re.compile(r"\d|[一二三四五六七八九十百千万亿]+(个|家|项|倍|亩|条|号)")
MAX_LIST_ITEMS = 6
MAX_SENTENCES = 3


@dataclass(frozen=True)
class Draft:
    text: str
    citations: list[Citation]
    refused: bool = False  # a generator may find the passages do not answer after all
    first_token_ms: float | None = None  # from the start of generation (streaming generators)


def period_label(period: str) -> str:
    year, _, kind = period.partition(" ")
    if kind == "review":
        return render("period_review", year=year)
    if kind == "plan":
        return render("period_plan", year=year)
    return render("period_intro") if period == "intro" else period


def compose(quotes: list[tuple[Chunk, Span]], lead: str = "") -> Draft:
    """Lay out quoted sentences, one per line with its marker, grouped by period."""
    citations: list[Citation] = []
    lines = [lead] if lead else []
    current_period = None
    for chunk, sentence in quotes:
        if chunk.period != current_period:
            current_period = chunk.period
            lines.append(render("period_heading", label=period_label(chunk.period)))
        n = len(citations) + 1
        citations.append(Citation(
            n=n, doc=chunk.doc, chunk_id=chunk.id, start=sentence.start, end=sentence.end,
            quote=sentence.text, heading=chunk.heading, period=chunk.period,
        ))
        lines.append(f"{sentence.text}[{n}]")
    return Draft("\n".join(lines), citations)


class ExtractiveGenerator:
    """Picks the sentences that answer: the number's sentence for a number question,
    the bullets of the matching section for a list question, the best sentence otherwise."""

    name = "extractive"

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def _sentence_scores(self, query: Query, chunk: Chunk) -> np.ndarray:
        return self.retriever.sentence_vectors(chunk) @ query.vector

    def select(self, question: str, query: Query, passages: list[Passage]) -> list[tuple[Chunk, Span]]:
        # Slogans are mottos, not facts: answer with them only when nothing else was found.
        facts = [p for p in passages if p.chunk.kind != "slogan"] or passages
        best = facts[0]
        if NUMBER_QUESTION.search(query.folded):
            candidates = [
                (float(score) + (0.02 if rank == 0 else 0.0), p.chunk, s)
                for rank, p in enumerate(facts[:3])
                for s, score in zip(p.chunk.sentences, self._sentence_scores(query, p.chunk), strict=True)
                if HAS_NUMBER.search(s.text)
            ]
            if candidates:
                _, chunk, sentence = max(candidates, key=lambda c: c[0])
                return [(chunk, sentence)]
        if LIST_QUESTION.search(query.folded) and best.chunk.kind in ("bullet", "paragraph"):
            section = self._section_of(query, best, facts)
            if section:
                return [(c, s) for c in section for s in c.sentences]
        quotes = self._best_sentences(query, best.chunk)
        # When the runner-up tells the same story from the other part of the article
        # (done in 2022 / planned for 2023), show both, each under its period.
        # Searched again without the question's year preference, which would bury it.
        unbiased = self.retriever.search(query, k=5)
        other = next((p for p in unbiased if p.chunk.period != best.chunk.period and p.chunk.kind != "slogan"), None)
        if other and other.lexical > 0 and other.cosine >= best.cosine - 0.03:
            quotes += self._best_sentences(query, other.chunk)[:1]
        return quotes

    def _best_sentences(self, query: Query, chunk: Chunk) -> list[tuple[Chunk, Span]]:
        scores = self._sentence_scores(query, chunk)
        order = np.argsort(-scores)[:MAX_SENTENCES]
        # Keep sentences close to the best one, in reading order.
        keep = sorted(i for i in order if scores[i] >= scores[order[0]] - 0.03)
        return [(chunk, chunk.sentences[i]) for i in keep]

    def _section_of(self, query: Query, best: Passage, passages: list[Passage]) -> list[Chunk]:
        """All bullets of the best passage's section, when the question points at the
        section (its heading is the closest heading to the question, or two of the top
        four passages lie in it) rather than at one bullet."""
        corpus = self.retriever.corpus
        heading = best.chunk.heading
        if len(best.chunk.heading_path) < 2:
            return []
        closest_heading = corpus.heading_names[int(np.argmax(corpus.heading_vectors @ query.vector))]
        if closest_heading != heading and sum(p.chunk.heading == heading for p in passages[:4]) < 2:
            return []
        members = [c for c in corpus.chunks if c.heading == heading and c.kind == best.chunk.kind]
        return members[:MAX_LIST_ITEMS]

    def generate(
        self, question: str, query: Query, passages: list[Passage], lead: str = "", on_token: object = None
    ) -> Draft:
        return compose(self.select(question, query, passages), lead)
