"""Scoring of answers (batch-schema JSON) against eval items (SCHEMAS.md)."""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from nanhai_qa.index import to_simplified
from nanhai_qa.ingest import Chunk

KEYS = ("id", "question", "history", "answerable", "evidence", "answer_keywords", "kind")


def load_items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def schema_problems(item: dict, sources: dict[str, str]) -> list[str]:
    """What is wrong with one eval item, per SCHEMAS.md ([] when nothing)."""
    problems = [f"missing {k}" for k in KEYS if k not in item]
    if problems:
        return problems
    types = {"id": str, "question": str, "history": list, "answerable": bool, "evidence": list,
             "answer_keywords": list, "kind": str}
    problems += [f"{k} is not {t.__name__}" for k, t in types.items() if not isinstance(item[k], t)]
    for turn in item["history"] if isinstance(item["history"], list) else []:
        role_ok = isinstance(turn, dict) and turn.get("role") in ("user", "assistant")
        if not (role_ok and isinstance(turn.get("content"), str)):
            problems.append(f"bad history turn {turn!r}")
    for evidence in item["evidence"] if isinstance(item["evidence"], list) else []:
        if not any(evidence in text for text in sources.values()):
            problems.append(f"evidence not in the source: {evidence!r}")
    if item.get("answerable") is False and item.get("evidence"):
        problems.append("unanswerable item with evidence")
    if item.get("answerable") is True and not item.get("evidence"):
        problems.append("answerable item without evidence")
    return problems


def normalise(text: str) -> str:
    """NFKC, whitespace removed, lower case, Traditional→Simplified (as SCHEMAS.md says)."""
    return to_simplified(re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower())


def keywords_present(answer: str, keywords: list[str]) -> bool:
    text = normalise(answer)
    return all(any(normalise(alt) in text for alt in kw.split("|")) for kw in keywords)


Span = tuple[str, int, int]  # (doc, start, end)


def evidence_spans(sources: dict[str, str], evidence: list[str]) -> list[Span]:
    spans = []
    for doc, text in sources.items():
        for ev in evidence:
            start = text.find(ev)
            while start >= 0:
                spans.append((doc, start, start + len(ev)))
                start = text.find(ev, start + 1)
    return spans


def overlaps(doc: str, start: int, end: int, spans: list[Span]) -> bool:
    return any(doc == d and start < e and s < end for d, s, e in spans)


@dataclass
class ItemResult:
    item: dict
    output: dict
    rank: int | None  # 1-based rank of the first retrieved passage overlapping evidence
    correct: bool  # answerable: keywords present and not refused; unanswerable: refused
    cited_evidence: bool  # some citation overlaps the evidence
    citations: int
    precise_citations: int  # citations in the same leaf section as some evidence
    verbatim_citations: int  # quote == source[start:end]

    @property
    def refused(self) -> bool:
        return bool(self.output.get("refused"))


def is_correct(item: dict, refused: bool, answer: str) -> bool:
    """Answerable: not refused and every key word present; unanswerable: refused."""
    if not item["answerable"]:
        return refused
    return not refused and keywords_present(answer, item["answer_keywords"])


def score_item(item: dict, output: dict, sources: dict[str, str], chunks: list[Chunk]) -> ItemResult:
    spans = evidence_spans(sources, item.get("evidence", []))
    retrieved = output.get("retrieved", [])
    rank = next((i for i, p in enumerate(retrieved, 1) if overlaps(p["doc"], p["start"], p["end"], spans)), None)
    citations = output.get("citations", [])
    sections = {c.heading for c in chunks if overlaps(c.doc, c.start, c.end, spans)}
    return ItemResult(
        item=item, output=output, rank=rank,
        correct=is_correct(item, bool(output.get("refused")), output.get("answer", "")),
        cited_evidence=any(overlaps(c["doc"], c["start"], c["end"], spans) for c in citations),
        citations=len(citations),
        precise_citations=sum(c.get("heading") in sections for c in citations),
        verbatim_citations=sum(sources.get(c["doc"], "")[c["start"] : c["end"]] == c["quote"] for c in citations),
    )


def share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th quantile by nearest rank (p50 is the median)."""
    if not values:
        return None
    ordered = sorted(values)
    return statistics.median(ordered) if q == 0.5 else ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def generation_figures(results: list[ItemResult]) -> dict[str, float | None]:
    """How a generative backend fared where it wrote (items the scorer did not refuse first):
    the share of its sentences dropped as unverified, how often nothing verified (the extractive
    answer stood in) or it refused, and its timings on those items only."""
    wrote = [r for r in results if r.output.get("verified") is not None]
    sentences = [v for r in wrote for v in r.output["verified"]]
    first_tokens = [r.output["first_token_ms"] for r in wrote]
    latencies = [r.output["latency_ms"] for r in wrote]
    return {
        "generated_items": len(wrote),
        "unverified_share": share([not v for v in sentences]),
        "fallback_share": share([not r.refused and not any(r.output["verified"]) for r in wrote]),
        "model_refusal_share": share([not r.output["verified"] for r in wrote]),
        "first_token_p50_ms": percentile(first_tokens, 0.5),
        "first_token_p95_ms": percentile(first_tokens, 0.95),
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
    }


def figures(results: list[ItemResult]) -> dict[str, float | None]:
    """The report's figures for a set of results (None when a figure has no items)."""
    answerable = [r for r in results if r.item["answerable"]]
    unanswerable = [r for r in results if not r.item["answerable"]]
    ranks = [r.rank for r in answerable]
    latencies = [r.output.get("latency_ms", 0.0) for r in results]
    first_tokens = [r.output.get("first_token_ms", r.output.get("latency_ms", 0.0)) for r in results]
    citations = sum(r.citations for r in results)
    return {
        "items": len(results),
        "hit@1": share([k == 1 for k in ranks]),
        "hit@3": share([k is not None and k <= 3 for k in ranks]),
        "hit@5": share([k is not None and k <= 5 for k in ranks]),
        "mrr": sum(1 / k for k in ranks if k) / len(ranks) if ranks else None,
        "answer_accuracy": share([r.correct for r in answerable]),
        "citation_recall": share([r.cited_evidence for r in answerable]),
        "citation_precision": sum(r.precise_citations for r in results) / citations if citations else None,
        "verbatim_rate": sum(r.verbatim_citations for r in results) / citations if citations else None,
        "refusal_recall": share([r.refused for r in unanswerable]),
        "false_refusal_rate": share([r.refused for r in answerable]),
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
        "first_token_p50_ms": percentile(first_tokens, 0.5),
        "first_token_p95_ms": percentile(first_tokens, 0.95),
    }
