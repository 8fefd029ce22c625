"""Questions about a document as a whole ("这篇文章讲了什么？", "总结一下", "What is this article
about?") ask for its gist, which no single sentence scored against the question's words gives:
they found "探索推广股份分红积分制。" and the byline. They are answered with the document's
opening sentence and the first sentence of each top-level part's own introduction, cited like
any quote; with several documents, each one's opening sentence under its title. A question about
one year's part as a whole ("今年有什么计划？", which found only the one plan whose sentence says
计划) gets that part's opening sentence and the heading of each of its sections, each cited at
its line in the document."""

from __future__ import annotations

import re
from collections.abc import Iterable

from nanhai_qa.index import fold
from nanhai_qa.ingest import Chunk, Document, Span

from .followup import QuestionFrame
from .scorer import question_types

# Matched on the whole message, folded (Simplified, Cantonese words as Mandarin, lower case), so
# "这篇文章是谁写的？" or "文章讲了哪些医疗措施？" are not overview questions.
_POLITE = r"(?:请问|请|麻烦|帮我|帮忙|给我|可以|能不能|能否|你能|你可以|想知道)*"
_THE_TEXT = r"(?:这|本|呢|那|整|全)?(?:篇|份|个|些)?(?:文章|篇文|文件|文档|报告|材料|稿子|全文|原文)"
_ABOUT = (
    r"(?:主要|大概|大致|都|一共|总共|究竟|到底)?(?:讲|说|写|谈|介绍|讲述|提)(?:了|的是|的|到)?(?:些)?"
    r"(?:什么|啥|哪些)(?:内容|东西|事情|事)?"
    r"|(?:是)?(?:关于|讲)(?:什么|啥)的?"
    r"|(?:的)?(?:主要内容|大意|要点|重点|主旨|核心内容|概要|摘要|内容)(?:是什么|是啥|有哪些|有什么)?"
    r"|(?:分|分为|分成)(?:几|哪几)(?:个)?部分"
)
_WHAT_OF_IT = r"(?:这篇文章|这篇文|这份文件|这份报告|全文|文章|文件|报告|内容|要点|重点|大意)"
# "总结一下" alone asks for a summary; "介绍一下" or "说说" alone, after an answer, asks for more of it.
_SUMMARISE = (
    rf"(?:总结|概括|归纳|简述|概述|梳理)(?:一下|下)?{_WHAT_OF_IT}?(?:的)?(?:要点|重点|大意|内容)?"
    rf"|(?:简单介绍|介绍|讲讲|说说|讲|说)(?:一下|下)?{_WHAT_OF_IT}(?:的)?(?:要点|重点|大意|内容)?"
    r"|划(?:一下|下)?重点"
)
_ENGLISH = (
    r"what(?:'s| is| are)(?: this| these| the)? (?:article|document|text|report|file)s? about"
    r"|(?:(?:can|could) you )?(?:please )?(?:summari[sz]e|sum up)(?: it| this| the (?:article|document|text|report))?"
    r"(?:,? please)?"
    r"|(?:give me )?(?:a |an )?(?:summary|overview|tl;?dr|(?:main|key) points)"
    r"(?: of (?:it|this|the (?:article|document|text|report)))?"
)
_FILLER = r"[\W_啊呀呢吧哦啦嘛喔噢哈吗]*"
OVERVIEW_QUESTION = re.compile(
    f"{_FILLER}{_POLITE}(?:{_THE_TEXT}{_FILLER}(?:{_ABOUT})|{_SUMMARISE}|{_ENGLISH}){_FILLER}"
)
# Documents whose opening sentences an answer gives, when the corpus has several.
MAX_DOCUMENTS = 6
# What a question about a year's part as a whole may say besides its frame (the year, the
# setting's names, question words: QuestionFrame.topic): general words for what a part holds
# (计划, 成绩, 重点工作, 大事) and function characters. Anything left names something in it.
PART_WORDS = re.compile(
    r"工作|成绩|成就|亮点|重点|任务|举措|措施|安排|目标|进展|变化|事情|大事|动作|部署|计划|打算|事|"
    r"准备|取得|开展|进行|推进|一些|[有要会将都主新想干啥哪几个项些得]"
)
# The same in English, once its years are taken out ("What are the district's plans for 2023?",
# "What did Nanhai achieve last year?"); a question with words of its own does not match.
ENGLISH_PART = re.compile(
    r"(?:what (?:are|were|is|was|will be)(?: the)?(?: [\w-]+'s?)?(?: main| key)?"
    r" (?:plans?|achievements?|priorities|tasks|work|highlights|goals)"
    r"|what (?:did|will|does|do)(?: the)?(?: [\w-]+)? (?:achieve|accomplish|do|plan)(?: to do)?)"
    r"(?: (?:for|in|during))?(?: the)?(?: year)?\W*"
)
# Asking a number, a date, a person, a place, a reason or whether asks a fact, not the gist.
FACT_TYPES = ("number", "money", "time", "person", "place", "reason", "yesno")


def asks_overview(text: str) -> bool:
    """Whether the whole message asks what the document is about, or for a summary of it."""
    return OVERVIEW_QUESTION.fullmatch(fold(text).strip()) is not None


def asks_about_part(question: str, frame: QuestionFrame) -> str | None:
    """The year whose part the question asks about as a whole ("今年有什么计划？", "去年做了
    哪些大事？"), or None: for a question naming no year, one with words of its own ("今年医院
    有什么计划？", "顺德今年有什么重点工作？") or one asking a fact."""
    year = frame.year_of(question)
    folded = fold(question)
    if year is None or any(question_types(folded)[t] for t in FACT_TYPES):
        return None
    if ENGLISH_PART.fullmatch(frame.without_years(folded).strip()):
        return year
    return None if PART_WORDS.sub("", frame.topic(folded)) else year


def _first_sentence(chunks: Iterable[Chunk], running_text_only: bool = False) -> tuple[Chunk, Span] | None:
    """The first sentence of the first paragraph of running text, else (unless
    `running_text_only`) of the first slogan or list item; never a byline."""
    chunks = [c for c in chunks if c.sentences and c.kind != "byline"]
    chosen = next((c for c in chunks if c.kind == "paragraph"), None)
    if chosen is None and not running_text_only:
        chosen = chunks[0] if chunks else None
    return (chosen, chosen.sentences[0]) if chosen else None


def outline(document: Document) -> list[tuple[Chunk, Span]]:
    """The document's opening sentence, then each top-level part's first sentence (of the
    part's own introduction when it has one, before its subsections), in reading order."""
    quotes: list[tuple[Chunk, Span]] = []
    opening = _first_sentence((c for c in document.chunks if not c.heading_path), running_text_only=True)
    parts = dict.fromkeys(c.heading_path[0] for c in document.chunks if c.heading_path)
    for part in parts:
        in_part = [c for c in document.chunks if c.heading_path[:1] == (part,)]
        own = [c for c in in_part if len(c.heading_path) == 1]
        quotes.append(_first_sentence(own) or _first_sentence(in_part))
    quotes = [q for q in [opening, *quotes] if q is not None]
    if not quotes:
        quotes = [q for q in [_first_sentence(document.chunks)] if q is not None]
    return sorted(quotes, key=lambda q: q[1].start)  # a headless paragraph may follow the parts


def _heading_line(document: Document, heading: str, chunks: list[Chunk]) -> tuple[Chunk, Span] | None:
    """The heading's own line in the document (it names what its section holds), cited with the
    section's first chunk; else the section's first sentence."""
    first = chunks[0]
    at = document.text.rfind(heading, 0, first.start)
    if at < 0:
        return _first_sentence(chunks)
    return first, Span(at, at + len(heading), heading)


def part_outline(document: Document, year: str) -> list[tuple[Chunk, Span]]:
    """The opening sentence of the document's part(s) for `year`, then the heading of each of
    their sections, in reading order."""
    chunks = [c for c in document.chunks if c.heading_path and c.period.split()[:1] == [year]]
    quotes: list[tuple[Chunk, Span] | None] = []
    for part in dict.fromkeys(c.heading_path[0] for c in chunks):
        in_part = [c for c in chunks if c.heading_path[0] == part]
        quotes.append(_first_sentence((c for c in in_part if len(c.heading_path) == 1), running_text_only=True))
        for section in dict.fromkeys(c.heading_path[1] for c in in_part if len(c.heading_path) > 1):
            quotes.append(_heading_line(document, section, [c for c in in_part if c.heading_path[1:2] == (section,)]))
    return [q for q in quotes if q is not None]


def openings(documents: list[Document]) -> list[tuple[Chunk, Span]]:
    """The opening sentence of each of the first MAX_DOCUMENTS documents."""
    return [q for d in documents[:MAX_DOCUMENTS] if (q := _first_sentence(d.chunks)) is not None]
