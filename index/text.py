"""Query-side text folding shared by the lexical and dense paths."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Common Cantonese words and their Mandarin equivalents, so that "醫療點樣？" retrieves
# like "医疗怎么样？". Applied after Traditional→Simplified folding.
CANTONESE_TO_MANDARIN = {
    "乜嘢": "什么", "咩嘢": "什么", "点样": "怎么样", "点解": "为什么", "几多": "多少",
    "边个": "谁", "边度": "哪里", "有冇": "有没有", "系咪": "是不是", "嘅": "的", "咗": "了",
    "冇": "没有", "佢哋": "他们", "佢": "他", "啲": "些", "咩": "什么", "嚟": "来", "喺": "在",
    "噉": "这样", "而家": "现在", "琴年": "去年", "旧年": "去年", "睇": "看",
    "搞": "做", "系": "是", "唔": "不", "俾": "给", "畀": "给", "嘢": "东西", "后生仔": "年轻人",
    "后生": "年轻人", "落乡": "下乡", "仲": "还", "㗎": "", "咯": "", "喎": "", "啫": "",
}
_CANTONESE = re.compile("|".join(sorted(map(re.escape, CANTONESE_TO_MANDARIN), key=len, reverse=True)))


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def fold(text: str) -> str:
    """NFKC, Traditional→Simplified, Cantonese→Mandarin words, lower case."""
    text = to_simplified(unicodedata.normalize("NFKC", text))
    return _CANTONESE.sub(lambda m: CANTONESE_TO_MANDARIN[m.group(0)], text).lower()


@lru_cache(maxsize=1)
def _colloquial() -> dict[str, str]:
    from importlib import resources

    table = {}
    for line in resources.files("index").joinpath("colloquial.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words, formal = line.split("\t")
            table.update(dict.fromkeys(words.split(), formal))
    return table


def formal_words(text: str) -> list[str]:
    """The article's wording for the everyday words in (folded) `text`: "看病" → "医院 医卫 健康"."""
    return [formal for word, formal in _colloquial().items() if word in text]
