"""Scoring of answers against eval items (the eval-item schema of SCHEMAS.md)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index import to_simplified


def load_items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def normalise(text: str) -> str:
    """NFKC, whitespace removed, lower case, Traditional→Simplified (as SCHEMAS.md says)."""
    return to_simplified(re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower())


def keywords_present(answer: str, keywords: list[str]) -> bool:
    text = normalise(answer)
    return all(any(normalise(alt) in text for alt in kw.split("|")) for kw in keywords)


def evidence_spans(source: str, evidence: list[str]) -> list[tuple[int, int]]:
    spans = []
    for ev in evidence:
        start = source.find(ev)
        while start >= 0:
            spans.append((start, start + len(ev)))
            start = source.find(ev, start + 1)
    return spans


def overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


@dataclass
class ItemResult:
    item: dict
    output: dict
    rank: int | None  # 1-based rank of the first retrieved passage overlapping evidence
    correct: bool  # answer keywords present and refusal as expected
    cited_evidence: bool


def score_item(item: dict, output: dict, source: str) -> ItemResult:
    spans = evidence_spans(source, item.get("evidence", []))
    rank = next(
        (i for i, p in enumerate(output.get("retrieved", []), 1) if overlaps(p["start"], p["end"], spans)), None
    )
    cited = any(overlaps(c["start"], c["end"], spans) for c in output.get("citations", []))
    if item["answerable"]:
        correct = not output.get("refused") and keywords_present(output.get("answer", ""), item["answer_keywords"])
    else:
        correct = bool(output.get("refused"))
    return ItemResult(item, output, rank if spans else None, correct, cited)
