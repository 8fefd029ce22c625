"""Resolve elliptical follow-ups ("那医疗呢？", "那今年呢？", "它会怎么运营？") from the
conversation before retrieval, by carrying over the earlier question's topic or year."""

from __future__ import annotations

import re

from index import fold

from .models import Message

PERIOD_PATTERNS = {
    "2022": re.compile(r"2022|去年|上一年|过去一年|last year"),
    "2023": re.compile(r"2023|今年|明年|新的一年|未来一年|this year|next year|plan"),
}
FOLLOWUP_OPENING = re.compile(r"^(那|那么|还有|另外|再|以及|and\b|what about|how about)", re.I)
FOLLOWUP_ENDING = re.compile(r"(呢|咧|嘞)[?？!！。.]*$")
PRONOUN = re.compile(r"它|它们|这个|那个|这些|那些|这项|该|其|\b(it|they|them|this|that|those)\b", re.I)
MORE = re.compile(r"^(还有|还有呢|还有吗|然后呢|详细|具体|多说|展开|more|tell me more)", re.I)
# Words that only frame a question; what remains after removing them is its topic.
FRAME = re.compile(
    r"那么|那|呢|还有|另外|再|吗|吧|啊|南海区?|的|了|呢|怎么样|怎么|如何|什么|哪些|多少|有没有|是|做|搞|"
    r"2022年?|2023年?|今年|去年|明年|方面|情况|计划|打算|呀|[?？!！。,.，、\s]|what about|how about|and",
    re.I,
)


def period_of_question(text: str) -> str | None:
    folded = fold(text)
    found = [p for p, pattern in PERIOD_PATTERNS.items() if pattern.search(folded)]
    return found[0] if len(found) == 1 else None


def _topic(folded: str) -> str:
    return FRAME.sub("", folded)


def resolve_followup(question: str, history: list[Message]) -> str:
    """The text to search for: the question itself, or the question completed from history."""
    previous = [m.content for m in history if m.role == "user" and m.content.strip()]
    if not previous:
        return question
    last = previous[-1]
    folded = fold(question)
    topic = _topic(folded)
    elliptical = bool(
        FOLLOWUP_OPENING.search(folded) or FOLLOWUP_ENDING.search(folded) or MORE.search(folded)
        or PRONOUN.search(folded) or len(topic) <= 1
    )
    if not elliptical:
        return question
    new_period = period_of_question(question)
    if len(topic) <= 1 or MORE.search(folded):
        # "那今年呢？" / "还有呢？": the earlier question again, in the year asked now.
        base = last
        if new_period:
            base = re.sub(r"2022年?|2023年?|今年|去年", f"{new_period}年", base)
        return f"{base} {question}" if new_period is None else base
    if PRONOUN.search(folded):
        # "它会怎么运营？": the pronoun stands for the earlier question's topic.
        return f"{last} {question}"
    # "那医疗呢？": the earlier question with its topic swapped for the new one.
    swapped = _swap_topic(last, topic)
    if new_period and swapped:
        swapped = re.sub(r"2022年?|2023年?|今年|去年", f"{new_period}年", swapped)
    return swapped or f"{topic} {question}"


def _swap_topic(question: str, topic: str) -> str | None:
    """"2022年南海在教育上做了什么？" + "医疗" → "2022年南海医疗做了什么？"."""
    folded = fold(question)
    pieces = [p for p in FRAME.split(folded) if len(p) >= 2]
    if not pieces:
        return None
    return folded.replace(max(pieces, key=len), topic, 1)
