"""Benchmark of the core engine on the eval set: the eval figures (retrieval hit@k, answer
accuracy, refusals, latency per answer with everything loaded) and cold start (a new
process until its first answer, caches present), for both embedding runtimes. Prints
figures; it asserts nothing."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from nanhai_qa.app.answering.engine import build_engine
from nanhai_qa.app.settings import Settings
from nanhai_qa.index import EmbeddingRuntime

from .runner import evaluate, print_summary
from .sets import EVAL_SET

COLD_START = (
    "import time; t = time.perf_counter();"
    "from nanhai_qa.app.answering.engine import build_engine; from nanhai_qa.app.settings import Settings;"
    "e = build_engine(Settings(), log=lambda m: None); e.answer('2022年新增了多少学位？');"
    "print(time.perf_counter() - t)"
)


def cold_start(runtime: str, runs: int = 3, generator: str = "extractive") -> list[float]:
    """Seconds from a new process's start to its first answer, `runs` times."""
    env = dict(os.environ, NANHAI_QA_RETRIEVAL__EMBEDDING_RUNTIME=str(runtime),
               NANHAI_QA_GENERATION__GENERATOR=generator)
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, text=True, check=True, env=env)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=EVAL_SET)
    args = parser.parse_args()
    settings = Settings()
    print_summary(evaluate(build_engine(settings), args.file, progress=False, settings_hash=settings.fingerprint()))
    for runtime in EmbeddingRuntime:
        times = cold_start(runtime)
        print(f"cold start, {runtime} runtime (new process to first answer, caches present): "
              f"{min(times):.2f} s best, {max(times):.2f} s worst")


if __name__ == "__main__":
    main()
