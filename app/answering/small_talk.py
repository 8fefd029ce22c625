"""Greetings, thanks and "who are you?" are not questions about the documents. A message made
only of them gets a short reply saying what the assistant does (with the profile's example
questions), not quotes chosen for its words: "你好" found "顺利实现“五个不发生”目标。" at
P(answerable) 0.85. Such a phrase opening a question ("你好，今年有什么计划？") is left out of
what is searched, so that the question's own words decide; and small-talk turns are left out of
the history a follow-up is read with ("谢谢" between a question and "那医疗呢？";
followup.without_exchanges)."""

from __future__ import annotations

import re
from enum import Enum

from nanhai_qa.index import fold


class SmallTalk(Enum):
    GREETING = "small_talk_greeting"  # also "who are you", "what can you do": the reply says both
    THANKS = "small_talk_thanks"  # also acknowledgements and goodbyes


# General Chinese (Cantonese too) and English; matched on folded text (Simplified, lower case).
PHRASES: dict[SmallTalk, tuple[str, ...]] = {
    SmallTalk.GREETING: (
        "你好", "您好", "你好吗", "大家好", "哈喽", "哈啰", "嗨", "喂", "在吗", "在不在", "早上好", "早安", "早晨",
        "上午好", "中午好", "下午好", "晚上好", "你是谁", "您是谁", "你叫什么名字", "你叫什么", "你能做什么",
        "你会做什么", "你会什么", "你可以做什么", "我可以问什么", "可以问什么", "能问什么", "怎么用", "帮助",
        "hello", "hi", "hey", "good morning", "good afternoon", "good evening", "who are you", "what can you do",
        "help",
    ),
    SmallTalk.THANKS: (
        "谢谢", "谢谢你", "谢谢您", "多谢", "多谢你", "谢啦", "感谢", "唔该", "唔该晒", "好的", "好吧", "知道了",
        "明白了", "收到", "再见", "拜拜", "thanks", "thank you", "thx", "ok", "okay", "bye", "goodbye",
    ),
}
_KIND = {fold(p): kind for kind, phrases in PHRASES.items() for p in phrases}
_ALTERNATIVES = "|".join(re.escape(p) for p in sorted(_KIND, key=len, reverse=True))
_FILLER_CHAR = r"[\W_啊呀呢吧哦啦嘛喔噢哈]"  # punctuation, a space or a particle
# A phrase stands alone: followed by filler, another phrase or the end (so that "好的" is not
# read in "好的政策", nor "hi" in "history").
_LEADING = re.compile(f"({_ALTERNATIVES})(?={_FILLER_CHAR}|$|{_ALTERNATIVES})")
_FILLER = re.compile(f"{_FILLER_CHAR}+")
# What may follow the phrases opening a question for them to be left out: punctuation ("你好，
# 请问…", "Hi, what…"), not a space ("help me find…" asks for help with something)
_CLOSING = re.compile(r"[^\w\s]")


def _leading_phrases(text: str) -> tuple[list[SmallTalk], int]:
    """The small-talk phrases opening `text` (folded) and where what follows them starts."""
    kinds, end = [], 0
    while True:
        start = m.end() if (m := _FILLER.match(text, end)) else end
        if not (phrase := _LEADING.match(text, start)):
            return kinds, end
        kinds.append(_KIND[phrase.group(1)])
        end = phrase.end()


def small_talk(text: str) -> SmallTalk | None:
    """What a message made only of small talk is (a greeting before thanks); None for any other."""
    folded = fold(text)
    kinds, end = _leading_phrases(folded)
    if not kinds or _FILLER.sub("", folded[end:]):
        return None
    return SmallTalk.GREETING if SmallTalk.GREETING in kinds else SmallTalk.THANKS


def without_small_talk(text: str) -> str:
    """`text` without the small-talk phrases opening it ("你好，请问…" → "请问…")."""
    folded = fold(text)
    kinds, end = _leading_phrases(folded)
    filler = _FILLER.match(folded, end)
    if not kinds or not filler or not _CLOSING.search(filler.group()):
        return text
    end = filler.end()
    # folding may change a text's length (NFKC, Cantonese words): cut where the original's
    # prefix folds to what is left out
    cut = next((i for i in range(end, min(len(text), end + 8) + 1) if fold(text[:i]) == folded[:end]), None)
    return text if cut is None else text[cut:]

