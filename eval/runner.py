"""`nanhai-qa eval`: run an eval set through the real engine and write a report staff can
trust: Markdown, a JSON file of the figures, and a PNG chart of the metrics by question kind."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

from nanhai_qa.app.answering.engine import AnswerEngine, Generator
from nanhai_qa.app.answering.models import parse_history
from nanhai_qa.app.prompts import prompts_version
from nanhai_qa.index import RetrievalMode

from .metrics import ItemResult, figures, load_items, schema_problems, score_item
from .sets import EVAL_SET

MODES = (RetrievalMode.BM25, RetrievalMode.DENSE, RetrievalMode.FUSED)
LABELS = {
    "hit@1": "hit@1", "hit@3": "hit@3", "hit@5": "hit@5", "mrr": "MRR", "answer_accuracy": "answer accuracy",
    "citation_recall": "citation recall", "citation_precision": "citation precision",
    "verbatim_rate": "verbatim rate", "refusal_recall": "refusal recall",
    "false_refusal_rate": "false-refusal rate", "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)", "first_token_p50_ms": "time to first token p50 (ms)",
}
CHART_METRICS = ("hit@1", "hit@5", "answer_accuracy", "citation_recall")


def run(
    engine: AnswerEngine, items: list[dict], progress: bool = True, label: str = "eval",
    mode: RetrievalMode | None = None,
    generator: Generator | None = None,
) -> list[ItemResult]:
    corpus = engine.retriever.corpus
    sources = {d.id: d.text for d in corpus.documents.values()}
    engine.warm_up(generator)  # one-off costs (first torch call, jieba, a model's first run) are not an answer's
    results = []
    for item in tqdm(items, desc=label, unit="q", file=sys.stderr, disable=not progress):
        answer = engine.answer(item["question"], parse_history(item.get("history")), generator=generator, mode=mode)
        output = answer.to_json(item["id"])
        results.append(score_item(item, output, sources, corpus.chunks))
    return results


def by_kind(results: list[ItemResult]) -> dict[str, dict]:
    kinds = sorted({r.item["kind"] for r in results})
    return {k: figures([r for r in results if r.item["kind"] == k]) for k in kinds}


def _fmt(value: float | None, key: str) -> str:
    if value is None:
        return "–"
    if key == "items":
        return str(int(value))
    return f"{value:.1f}" if key.endswith("_ms") else f"{value:.3f}"


def summary_table(runs: dict[str, dict]) -> str:
    names = list(runs)
    lines = ["| figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in LABELS.items():
        lines.append(f"| {label} | " + " | ".join(_fmt(runs[n][key], key) for n in names) + " |")
    return "\n".join(lines)


def kinds_table(kinds: dict[str, dict]) -> str:
    keys = ("items", "hit@1", "hit@5", "answer_accuracy", "citation_recall", "refusal_recall")
    lines = ["| kind | " + " | ".join(LABELS.get(k, k) for k in keys) + " |", "|---|" + "---|" * len(keys)]
    for kind, figs in kinds.items():
        lines.append(f"| {kind} | " + " | ".join(_fmt(figs[k], k) for k in keys) + " |")
    return "\n".join(lines)


def failures_table(results: list[ItemResult]) -> str:
    wrong = [r for r in results if not r.correct or (r.item["answerable"] and r.rank != 1)]
    if not wrong:
        return "None."

    def cell(text: str, limit: int = 70) -> str:
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    lines = ["| id | kind | question | expected evidence | first retrieved | answer |", "|---|---|---|---|---|---|"]
    for r in wrong:
        expected = r.item["evidence"][0] if r.item["evidence"] else "(refusal)"
        first = r.output["retrieved"][0]["text"] if r.output.get("retrieved") else ""
        rank = f" (evidence at rank {r.rank})" if r.rank and r.rank > 1 else ""
        lines.append(
            f"| {r.item['id']} | {r.item['kind']} | {cell(r.item['question'], 40)} | {cell(expected, 40)} | "
            f"{cell(first, 40)}{rank} | {cell(r.output.get('answer', ''))} |"
        )
    return "\n".join(lines)


def draw_chart(kinds: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(kinds)
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 1.1), 4.5))
    width = 0.8 / len(CHART_METRICS)
    for i, metric in enumerate(CHART_METRICS):
        values = [kinds[k][metric] or 0 for k in names]
        ax.bar([x + i * width for x in range(len(names))], values, width, label=LABELS[metric])
    refusal = [kinds[k]["refusal_recall"] for k in names]
    centres = [x + 0.4 - width / 2 for x in range(len(names))]
    ax.scatter(centres, [v if v is not None else float("nan") for v in refusal], marker="D", color="black", zorder=3,
               label="refusal recall")
    ax.set_xticks(centres, names, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of items")
    ax.set_title("nanhai-qa eval: metrics by question kind")
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def evaluate(
    engine: AnswerEngine, file: Path = EVAL_SET, out: Path | None = None, ablations: bool = False,
    progress: bool = True, generators: dict[str, Generator] | None = None, settings_hash: str = "",
) -> dict:
    """Run the set; write report.md, figures.json and by_kind.png into `out`; return the figures.
    `ablations` adds BM25-only and dense-only runs; `generators` adds runs of other answer
    generators (named), side by side with the main extractive run. `settings_hash`
    (Settings.fingerprint()) is recorded in the report with the wordings' version."""
    items = load_items(file)
    sources = {d.id: d.text for d in engine.retriever.corpus.documents.values()}
    problems = {
        item.get("id", f"line {i}"): p for i, item in enumerate(items, 1) if (p := schema_problems(item, sources))
    }
    if problems:
        raise ValueError(f"{file}: {len(problems)} bad item(s), e.g. {next(iter(problems.items()))}")
    modes = MODES if ablations else (engine.mode,)
    results: dict[str, list[ItemResult]] = {}
    for mode in modes:
        results[str(mode)] = run(engine, items, progress, label=f"eval ({mode})", mode=mode)
    for name, generator in (generators or {}).items():
        results[name] = run(engine, items, progress, label=f"eval ({name})", generator=generator)
    main = results.get(str(engine.mode)) or next(iter(results.values()))
    runs = {mode: figures(r) for mode, r in results.items()}
    kinds = by_kind(main)
    report = {
        "file": str(file), "generator": engine.generator.name, "mode": str(engine.mode), "runs": runs,
        "by_kind": kinds, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "settings_hash": settings_hash, "prompts_version": prompts_version(),
    }
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "figures.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        draw_chart(kinds, out / "by_kind.png")
        (out / "report.md").write_text(markdown(report, main), encoding="utf-8")
    return report


def markdown(report: dict, results: list[ItemResult]) -> str:
    return f"""# nanhai-qa eval report

- eval set: `{report['file']}` ({report['runs'][report['mode']]['items']} items)
- generator: {report['generator']}; retrieval mode of the main run: {report['mode']}
- run at {report['time']}; latency is per answer with the model and index loaded
- settings `{report['settings_hash'] or 'not given'}`, wordings `{report['prompts_version']}`

## Summary

{summary_table(report['runs'])}

How to read it: retrieval counts a passage as finding the evidence when its span overlaps an
evidence string's span in the source. Answer accuracy: all `answer_keywords` present (after
NFKC, whitespace removal, lower-casing, Traditional→Simplified) and not refused. Citation
recall: answerable items with a citation overlapping the evidence. Citation precision:
citations lying in the same leaf section as some evidence (citations on unanswerable items
count against it). Verbatim rate: citations whose quote equals the source at its offsets.

## By question kind ({report['mode']})

![metrics by kind](by_kind.png)

{kinds_table(report['by_kind'])}

## Failures ({report['mode']})

Items answered wrongly, or whose evidence was not the first passage retrieved.

{failures_table(results)}
"""


def print_summary(report: dict) -> None:
    print(summary_table(report["runs"]))
