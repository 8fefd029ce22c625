"""Query-side text folding shared by the lexical and dense paths."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Common Cantonese words and their Mandarin equivalents, so that "醫療點樣？" retrieves
# like "医疗怎么样？". Applied after Traditional→Simplified folding.
CANTONESE_TO_MANDARIN = {
    "乜嘢": "什么", "咩嘢": "什么", "点样": "怎么样", "点解": "为什么", "几多": "多少",
    "边个": "谁", "边度": "哪里", "边啲": "哪些", "边几": "哪几", "有冇": "有没有", "系咪": "是不是",
    "嘅": "的", "咗": "了",
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

