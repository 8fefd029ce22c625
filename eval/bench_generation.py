"""Extractive vs generative answers side by side (`make bench-generation`): every item of the
eval set and of the held-out set, answered by each generator, with accuracy, citation precision,
the share of generated sentences dropped as unverified, refusals, timings and memory.

Each generator runs in its own process, so its peak memory (the engine, the index and the model
together) and its load time are its own. A generator's results are kept in
`<out>/<generator>.json` and reused unless `--fresh`: the transformers run takes about 90 min on
2 cores, and the table can be printed again without it. Prints figures; asserts nothing."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from nanhai_qa.app.answering.engine import build_engine, build_generator
from nanhai_qa.app.generation import GeneratorKind
from nanhai_qa.app.settings import Settings
from nanhai_qa.index import EmbeddingRuntime

from .bench import cold_start
from .metrics import figures, generation_figures, load_items
from .runner import run
from .sets import DEV_SET, EVAL_SET, HELDOUT

SETS = {"questions": EVAL_SET, "heldout": HELDOUT, "dev": DEV_SET}
GENERATORS = (GeneratorKind.EXTRACTIVE, GeneratorKind.LLAMACPP, GeneratorKind.TRANSFORMERS)
ROWS = {  # figure key → label; answer figures, then generation figures
    "answer_accuracy": "answer accuracy", "citation_precision": "citation precision",
    "unverified_share": "generated sentences dropped as unverified",
    "fallback_share": "nothing verified: the quotes shown instead",
    "model_refusal_share": "model said the excerpts do not answer", "refusal_recall": "refusal recall",
    "false_refusal_rate": "false refusals", "generated_items": "items the model wrote",
    "first_token_p50_ms": "time to first token p50 (s)", "first_token_p95_ms": "time to first token p95 (s)",
    "latency_p50_ms": "whole answer p50 (s)", "latency_p95_ms": "whole answer p95 (s)",
}


def measure(kind: GeneratorKind, settings: Settings, sets: list[str], progress: bool) -> dict:
    """One generator over the sets, in this process: figures per set, load time, peak memory."""
    engine = build_engine(settings.updated(generation={"generator": GeneratorKind.EXTRACTIVE}), log=lambda m: None)
    started = time.perf_counter()
    generator = build_generator(settings.updated(generation={"generator": kind}), engine.retriever, engine.selection,
                                log=lambda m: print(m, file=sys.stderr))
    load_s = time.perf_counter() - started
    if kind != GeneratorKind.EXTRACTIVE and generator is engine.extractive:
        raise SystemExit(f"{kind} did not load (see the message above)")
    started = time.perf_counter()
    engine.warm_up(generator)  # the first answer pays one-off costs; run() warms up again, at no cost
    first_answer_s = time.perf_counter() - started
    report: dict = {"generator": str(kind), "load_s": round(load_s, 2), "first_answer_s": round(first_answer_s, 2),
                    "settings": settings.fingerprint(), "sets": {}}
    for name in sets:
        results = run(engine, load_items(SETS[name]), progress, label=f"{kind} on {name}", generator=generator)
        report["sets"][name] = {"answers": figures(results), "generation": generation_figures(results),
                                "items": [r.output | {"id": r.item["id"], "correct": r.correct} for r in results]}
    # ru_maxrss is in KiB on Linux
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return report


def cell(value: float | None, key: str) -> str:
    if value is None:
        return "–"
    if key.endswith("_ms"):
        return f"{value / 1000:.2f}"
    return str(int(value)) if key == "generated_items" else f"{value:.3f}"


def table(reports: dict[str, dict], set_name: str) -> str:
    names = [n for n in reports if set_name in reports[n]["sets"]]
    lines = ["| figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in ROWS.items():
        values = []
        for n in names:
            figs = reports[n]["sets"][set_name]
            # a model's timings are over the items it wrote; the extractive engine writes nothing,
            # so its timings are every answer's
            generative = n != GeneratorKind.EXTRACTIVE and key in figs["generation"]
            source = figs["generation"] if generative else figs["answers"]
            values.append(cell(source.get(key), key))
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    for key, label in (("load_s", "model load in the measuring process (s)"),
                       ("first_answer_s", "first answer after loading (s)"),
                       ("cold_start_s", "new process to its first answer, worst of 3 (s)"),
                       ("peak_rss_mb", "peak memory of the process (MB)")):
        lines.append(f"| {label} | " + " | ".join(str(reports[n].get(key, "–")) for n in names) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generators", default=",".join(str(g) for g in GENERATORS),
                        help="comma-separated, in order (default: %(default)s)")
    parser.add_argument("--sets", default="questions,heldout", help="comma-separated, of: " + ", ".join(SETS))
    parser.add_argument("--out", type=Path, default=Path(".cache/bench-generation"))
    parser.add_argument("--fresh", action="store_true", help="measure again even where results are kept")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process: measure this generator only
    args = parser.parse_args()
    sets = args.sets.split(",")
    if args.one:
        report = measure(GeneratorKind(args.one), Settings(), sets, progress=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.one}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        return
    reports = {}
    for kind in args.generators.split(","):
        kept = args.out / f"{kind}.json"
        if args.fresh or not kept.is_file():
            subprocess.run([sys.executable, "-m", "nanhai_qa.eval.bench_generation", "--one", kind,
                            "--sets", args.sets, "--out", str(args.out)], check=True)
        reports[kind] = json.loads(kept.read_text(encoding="utf-8"))
        if "cold_start_s" not in reports[kind]:  # measured alone, after the sets: a new process each time
            reports[kind]["cold_start_s"] = round(max(cold_start(EmbeddingRuntime.AUTO, generator=kind)), 2)
            kept.write_text(json.dumps(reports[kind], ensure_ascii=False, indent=1), encoding="utf-8")
    for name in sets:
        items = next(iter(reports.values()))["sets"].get(name, {}).get("answers", {}).get("items")
        print(f"\n{name} ({SETS[name].name}, {items} items)\n")
        print(table(reports, name))


if __name__ == "__main__":
    main()
