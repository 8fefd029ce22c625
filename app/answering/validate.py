"""Cleans a question before it reaches the engine; bad input gets a clear message."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from nanhai_qa.app.prompts import SIMPLIFIED, asker_script, render

_LETTER_OR_DIGIT = re.compile(r"[^\W_]", re.UNICODE)
# Markup is never part of a question about the article: script/style blocks, tags and
# Markdown images are dropped before anything else looks at the text.
_MARKUP = re.compile(
    r"<(script|style)\b.*?(</\1\s*>|$)|<!--.*?(-->|$)|</?[a-z][^<>]*>|!\[[^\]]*\]\([^)]*\)", re.I | re.S
)


# Scripts the embedding model and the lexical index read: Chinese (with Japanese kana and
# bopomofo, which share its text) and Latin letters. A question mostly in other letters
# (Thai, Arabic, Tibetan, …) would be matched on its digits alone.
READABLE_SCRIPTS = ("CJK", "LATIN", "FULLWIDTH LATIN", "HIRAGANA", "KATAKANA", "BOPOMOFO")


def readable(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    known = sum(unicodedata.name(ch, "").startswith(READABLE_SCRIPTS) for ch in letters)
    return not letters or known * 2 >= len(letters)


@dataclass
class CleanQuestion:
    text: str
    error: str | None = None
    notices: list[str] = field(default_factory=list)
    script: str = SIMPLIFIED  # the asker's: the app's own wording follows it


def clean_question(raw: object, max_chars: int) -> CleanQuestion:
    if not isinstance(raw, str):
        return CleanQuestion("", error=render("error_empty"))
    # Control characters (NUL included) become spaces; line breaks too.
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in raw)
    if not text.strip():
        return CleanQuestion("", error=render("error_empty"))
    text = re.sub(r"\s+", " ", _MARKUP.sub(" ", text)).strip()
    script = asker_script(text)
    if not _LETTER_OR_DIGIT.search(text):  # punctuation or emoji only
        return CleanQuestion("", error=render("error_no_words", script))
    if not readable(text):
        return CleanQuestion("", error=render("error_unsupported_script", script))
    notices = []
    if len(text) > max_chars:
        text = text[:max_chars]
        notices.append(render("notice_truncated", script, limit=max_chars))
    return CleanQuestion(text, notices=notices, script=script)
