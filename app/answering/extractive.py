"""The extractive answer generator: answers only with the source's own sentences (those
the answer scorer ranks highest), each followed by its citation marker, grouped by the part
of the document (e.g. one year's review, the next year's plan) they come from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nanhai_qa.app.prompts import SIMPLIFIED, render
from nanhai_qa.index import Passage, Query
from nanhai_qa.ingest import Chunk, Span

from .models import Citation
from .scorer import Candidate, Judgement, question_types


@dataclass(frozen=True)
class Draft:
    text: str
    citations: list[Citation]
    refused: bool = False  # a generator may find the passages do not answer after all
    first_token_ms: float | None = None  # from the start of generation (streaming generators)
    # Generative drafts: whether each generated sentence was verified (unverified ones are not shown)
    verified: tuple[bool, ...] | None = None


@dataclass(frozen=True)
class AnswerStyle:
    """How an answer is laid out: the script of its own wording (the asker's), the title of
    each document when the corpus has several (each quoted line names its source), and which
    documents are divided into dated parts (only their quotes are grouped under period labels)."""

    script: str = SIMPLIFIED
    titles: dict[str, str] = field(default_factory=dict)
    dated: frozenset[str] = frozenset()


def period_label(period: str, script: str = SIMPLIFIED) -> str:
    year, _, kind = period.partition(" ")
    if kind == "review":
        return render("period_review", script, year=year)
    if kind == "plan":
        return render("period_plan", script, year=year)
    return render("period_intro", script) if period == "intro" else period


def join_adjacent(quotes: list[tuple[Chunk, Span]]) -> list[tuple[Chunk, Span]]:
    """Consecutive sentences of one chunk become one quote (one citation): an answer that runs
    over two sentences reads as the source wrote it."""
    joined: list[tuple[Chunk, Span]] = []
    for chunk, sentence in quotes:
        if joined and joined[-1][0].id == chunk.id:
            previous = joined[-1][1]
            between = chunk.text[previous.end - chunk.start : sentence.start - chunk.start]
            if sentence.start >= previous.end and not between.strip() and "\n" not in between:
                text = previous.text + between + sentence.text
                joined[-1] = (chunk, Span(previous.start, sentence.end, text))
                continue
        joined.append((chunk, sentence))
    return joined


def compose(quotes: list[tuple[Chunk, Span]], lead: str = "", style: AnswerStyle | None = None) -> Draft:
    """Lay out quoted sentences, one per line with its marker (and its document's title when
    there are several), grouped by period in documents that have periods."""
    style = style or AnswerStyle()
    citations: list[Citation] = []
    lines = [lead] if lead else []
    current_period = None
    for chunk, sentence in join_adjacent(quotes):
        period = (chunk.doc, chunk.period) if chunk.doc in style.dated else None
        if period != current_period:
            current_period = period
            if period:
                lines.append(render("period_heading", style.script, label=period_label(chunk.period, style.script)))
        n = len(citations) + 1
        title = style.titles.get(chunk.doc, "")
        citations.append(Citation(
            n=n, doc=chunk.doc, chunk_id=chunk.id, start=sentence.start, end=sentence.end,
            quote=sentence.text, heading=chunk.heading, period=chunk.period, page=chunk.page, title=title,
        ))
        line = f"{sentence.text}[{n}]"
        lines.append(render("source_title", style.script, line=line, title=title) if title else line)
    return Draft("\n".join(lines), citations)


# 其 points back ("其中", "其主要…"), but not in 其他, 其次, 其实, 其余
ITS = r"其(?!他|次|实|實|余|餘)"
# A sentence that opens by pointing back ("这一思想…", "它是…", "而其他…"), or holds a pointer in
# its first words (CONTINUES: "历史上，因为这一点…"), needs the one before it to be understood; that
# one often holds what the question asks (the thing "这" stands for).
REFERS_BACK = re.compile(rf"(这|這|此|该|該|它|{ITS}|他|她|而|但|並|并|同时|同時|此外|然而|因此|于是|於是)")

# A sentence that goes on about the one before it, with a pointer in its first words
# ("这份合约的时间为7年", "瓦特在伯明罕发明了这个改进"), often holds what was asked of that one.
# Not 应该 ("should"), nor "，其中" ("今年引进企业42家，其中…"), which points within its own sentence.
CONTINUES = re.compile(rf"^[^。；;]{{0,10}}?(这|這|(?<![应應])[该該]|此(?!外)|它|(?<![，,])其中|(?!其中){ITS})")

# A sentence after "；" is a clause of a longer one, whose subject or topic is often in the
# clause before ("…進入神學研究階段，接著是嚴格的考試；考試通過者可成為…").
CLAUSE_ENDS = ("；", ";")

# A date without its year ("4月，…", "10月18日…") takes the year from the text before it.
MONTH = re.compile(r"\d{1,2}\s*月")
YEAR_NAMED = re.compile(r"\d{3,4}\s*年")


def in_context(candidate: Candidate, asks_time: bool = False) -> list[Span]:
    """The candidate's sentence, preceded by the sentence of its chunk it points back to, if
    any, or the clause it follows after a "；"; for a question asking when, by the nearest one
    naming the year its date leaves out; followed by the next sentence if that one points back
    to it."""
    sentence, before = candidate.sentence, candidate.chunk.sentences[: candidate.index]
    after = candidate.chunk.sentences[candidate.index + 1 :]
    quoted, opening = [sentence], sentence.text.lstrip()
    follows_clause = bool(before) and before[-1].text.rstrip().endswith(CLAUSE_ENDS)
    if before and (REFERS_BACK.match(opening) or CONTINUES.match(opening) or follows_clause):
        quoted.insert(0, before[-1])
    if after and CONTINUES.match(after[0].text.lstrip()):
        quoted.append(after[0])
    if asks_time and MONTH.search(sentence.text) and not YEAR_NAMED.search(sentence.text):
        dated = next((s for s in reversed(before) if YEAR_NAMED.search(s.text)), None)
        if dated is not None and dated not in quoted:
            quoted.insert(0, dated)
    return quoted


@dataclass(frozen=True)
class SelectionPolicy:
    """Which scored sentences an answer quotes: those whose probability is at least
    `keep_share` of the best one's, at most `max_sentences` (`max_list_sentences` for a
    question asking for several things), in reading order. `keep_share` None takes the
    judging model's own, chosen on development data by eval/train_scorer.py."""

    keep_share: float | None = None
    max_sentences: int = 3
    max_list_sentences: int = 6
    quote_context: bool = True  # a kept sentence brings what it points back to, and what points back to it (in_context)

    def kept(self, judgement: Judgement, folded_question: str) -> list[Candidate]:
        """The sentences to quote, best first."""
        if not judgement.ranked:
            return []
        share = judgement.keep_share if self.keep_share is None else self.keep_share
        best = judgement.ranked[0].probability
        limit = self.max_list_sentences if question_types(folded_question)["list"] else self.max_sentences
        return [s.candidate for s in judgement.ranked if s.probability >= share * best][:limit]

    def select(self, judgement: Judgement, folded_question: str) -> list[tuple[Chunk, Span]]:
        """The sentences to quote, in reading order."""
        kept = self.kept(judgement, folded_question)
        if not kept:
            return []
        first_doc = kept[0].chunk.doc  # the best sentence's document leads
        asks_time = question_types(folded_question)["time"]
        quotes = {
            (c.chunk.id, s.start): (c.chunk, s)
            for c in kept
            for s in (in_context(c, asks_time) if self.quote_context else [c.sentence])
        }
        return sorted(quotes.values(), key=lambda q: (q[0].doc != first_doc, q[0].doc, q[1].start))


class ExtractiveGenerator:
    """Answers with the source's own sentences: those the answer scorer ranks highest."""

    name = "extractive"

    def __init__(self, selection: SelectionPolicy | None = None) -> None:
        self.selection = selection or SelectionPolicy()

    def generate(
        self, question: str, query: Query, passages: list[Passage], judgement: Judgement,
        style: AnswerStyle | None = None, on_token: object = None,
    ) -> Draft:
        return compose(self.selection.select(judgement, query.folded), style=style)
