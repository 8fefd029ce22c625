"""Text patterns every stage shares, written once: years, Chinese characters, sentence ends."""

from __future__ import annotations

import re

# A year written in digits, not part of a longer number ("2019", "2035"; not "12019").
YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# A year as a word: "2023" or "2023年".
YEAR_WORD = re.compile(YEAR.pattern + "年?")

# Han characters (CJK Unified Ideographs, Extension A, Compatibility Ideographs).
HAN = "\u3400-\u9fff\uf900-\ufaff"
HAN_CHAR = re.compile(f"[{HAN}]")

# What ends a sentence, and the closing quotes and brackets that belong to the sentence before them.
SENTENCE_ENDS = "。！？；!?;"
CLOSING = "”’」』）)"
SENTENCE_END = re.compile(f"[{SENTENCE_ENDS}]+[{CLOSING}]*")
