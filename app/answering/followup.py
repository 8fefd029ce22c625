"""Resolve elliptical follow-ups ("那医疗呢？", "那今年呢？", "它会怎么运营？", "今年还办不办？")
from the conversation before retrieval, by carrying over the earlier question's topic or year."""

from __future__ import annotations

import re
from collections.abc import Callable

from nanhai_qa.app.profile import CorpusProfile
from nanhai_qa.index import fold
from nanhai_qa.ingest.patterns import HAN_CHAR, YEAR_WORD

from .models import Message

# 咁 opens a Cantonese follow-up as 那 does ("咁医疗呢？"); it is not folded, as 咁多 means 这么多.
FOLLOWUP_OPENING = re.compile(r"^(那|那么|咁|还有|另外|再|以及|and\b|what about|how about)", re.I)
FOLLOWUP_ENDING = re.compile(r"(呢|咧|嘞)[?？!！。.]*$")
PRONOUN = re.compile(r"它|它们|这个|那个|这些|那些|这项|该|其|\b(it|they|them|this|that|those)\b", re.I)
# jieba tags no English word, so an English question's topic is what is left of its words
# without these, which frame a question ("What about this year?" names none).
ENGLISH_FRAME = frozenset("""
    a an the this that these those it its they them their what which who whom whose when where why how
    is are was were be been being do does did done will would can could shall should may might must has have had
    of in on at for to from by with about and or not no yes there any some many much more else other also too
    year years tell me please i you we he she us our your his her
""".split())
# An English follow-up naming a topic of its own ("And what about schools?").
ENGLISH_SWAP = re.compile(r"^(?:and\s+)?(?:what|how)\s+about\s+(.+?)[\s?.!]*$", re.I)
MORE = re.compile(r"^(还有|还有呢|还有吗|然后呢|详细|具体|多说|展开|more|tell me more)", re.I)
# Words that only frame a question; what remains after removing them (and the corpus's own
# setting and year words) is its topic.
FRAME_WORDS = (
    r"那么|那|咁|呢|还有|另外|再|吗|吧|啊|的|了|怎么样|怎么|如何|什么|哪些|多少|有没有|是|做|搞|方面|情况|计划|打算|呀|"
    r"[?？!！。,.，、\s]|what about|how about|and"
)


def without_exchanges(history: list[Message], aside: Callable[[str], bool]) -> list[Message]:
    """`history` without the exchanges (a user's message and the reply to it) whose message is
    `aside`: not about a topic a follow-up could go on with (small talk, a request for the
    document's overview). "那医疗呢？" after "谢谢" is about the question before it."""
    kept, reply_to_skip = [], False
    for message in history:
        if message.role == "user":
            reply_to_skip = aside(message.content)
            if reply_to_skip:
                continue
        elif reply_to_skip:
            reply_to_skip = False
            continue
        kept.append(message)
    return kept


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(fold(w)) for w in sorted(words, key=len, reverse=True))


class QuestionFrame:
    """The corpus's years and the words standing for them ("今年" → the profile's year for it),
    and the names of its setting: what frames a question rather than says what it is about."""

    def __init__(
        self, profile: CorpusProfile, corpus_years: set[str], topic_words: Callable[[str], list[str]] | None = None,
    ) -> None:
        """`topic_words`: folded text → the words naming its topic (topic_words.TopicWords);
        without it, any two characters left over from the frame count as a topic."""
        self.topic_words = topic_words
        self.years = set(corpus_years) | set(profile.relative_years)
        self._year_words = {
            year: re.compile(_alternatives(words), re.I) for year, words in profile.relative_years.items() if words
        }
        relative = [w for words in profile.relative_years.values() for w in words]
        self._dated = re.compile("|".join(p for p in (YEAR_WORD.pattern, _alternatives(relative)) if p), re.I)
        pieces = [_alternatives(profile.setting_words), YEAR_WORD.pattern, _alternatives(relative), FRAME_WORDS]
        self._frame = re.compile("|".join(p for p in pieces if p), re.I)

    def year_of(self, text: str) -> str | None:
        """The one year the question points at (named, or by a word standing for it), else None."""
        folded = fold(text)
        found = {m.group(0)[:4] for m in YEAR_WORD.finditer(folded)} & self.years
        found |= {year for year, words in self._year_words.items() if words.search(folded)}
        return found.pop() if len(found) == 1 else None

    def topic(self, folded: str) -> str:
        return self._frame.sub("", folded)

    def names_topic(self, topic: str) -> bool:
        """Whether what a question says besides its frame (`topic()`) names what it is about:
        "还办不办" and "新动作" (a common word the corpus does not use) do not."""
        return bool(self.topic_words(topic)) if self.topic_words else len(topic) >= 2

    def pieces(self, folded: str) -> list[str]:
        return [p for p in self._frame.split(folded) if p and len(p) >= 2]

    def without_years(self, folded: str) -> str:
        """`folded` without its years and the words standing for them."""
        return self._dated.sub("", folded)

    def with_year(self, text: str, year: str) -> str:
        """`text` asked of `year`: its years replaced, or the year put first if it names none."""
        dated, count = self._dated.subn(f"{year}年", text)
        return dated if count else f"{year}年{text}"


def resolve_followup(question: str, history: list[Message], frame: QuestionFrame) -> str:
    """The text to search for: the question itself, or the question completed from history (the
    last question as it was itself resolved: "去年呢？" after "那医疗呢？" asks of 医疗)."""
    asked = [i for i, m in enumerate(history) if m.role == "user" and m.content.strip()]
    if not asked:
        return question
    last = resolve_followup(history[asked[-1]].content, history[: asked[-1]], frame)
    if english_followup := _english_swap(question, frame):
        # "And what about schools?" after "What are the plans for rural areas in 2023?": the new
        # topic in the earlier question's year (swapping words inside an English question
        # would take grammar this module does not have).
        year = frame.year_of(last)
        return f"{english_followup} in {year}?" if year and not frame.year_of(question) else question
    folded = fold(question)
    topic = frame.topic(folded)
    has_topic = frame.names_topic(topic) if HAN_CHAR.search(question) else bool(_english_words(question, frame))
    elliptical = bool(
        FOLLOWUP_OPENING.search(folded) or FOLLOWUP_ENDING.search(folded) or MORE.search(folded)
        or PRONOUN.search(folded) or not has_topic
    )
    if not elliptical:
        return question
    new_year = frame.year_of(question)
    if not has_topic or MORE.search(folded):
        # "那今年呢？" / "还有呢？": the earlier question again, in the year asked now.
        return frame.with_year(last, new_year) if new_year else f"{last} {question}"
    if PRONOUN.search(folded):
        # "它会怎么运营？": the pronoun stands for the earlier question's topic.
        return f"{last} {question}"
    # "那医疗呢？": the earlier question with its topic swapped for the new one.
    pieces = frame.pieces(fold(last))
    if not pieces:
        return f"{topic} {question}"
    swapped = fold(last).replace(max(pieces, key=len), topic, 1)
    return frame.with_year(swapped, new_year) if new_year else swapped


def _english_swap(question: str, frame: QuestionFrame) -> str:
    """The question without its closing mark when it is an English follow-up naming a topic of its
    own ("And what about schools?"), else ""."""
    match = None if HAN_CHAR.search(question) else ENGLISH_SWAP.match(question.strip())
    return question.strip().rstrip("?.! ") if match and _english_words(match.group(1), frame) else ""


def _english_words(text: str, frame: QuestionFrame) -> list[str]:
    """The words of an English text that may name its topic: not a year, nor a word that frames it."""
    return [w for w in re.findall(r"[a-z]+", frame.without_years(fold(text))) if w not in ENGLISH_FRAME]


def said_before(question: str, history: list[Message]) -> str:
    """What the last answer said (folded), when the question asks for more ("还有吗？", "具体点？"):
    the sentences it quoted are not said again. "" otherwise."""
    if not MORE.search(fold(question)):
        return ""
    answers = [m.content for m in history if m.role == "assistant" and m.content.strip()]
    return _compact(answers[-1]) if answers else ""


def is_said(sentence: str, said: str) -> bool:
    """Whether the whole (folded) sentence, without its closing mark, is in `said`."""
    if not said:  # most questions: no sentence to fold
        return False
    core = _compact(sentence).rstrip("。！？!?；;.")
    return bool(core) and core in said


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", fold(text))
