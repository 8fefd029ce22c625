"""How cost grows with the corpus: synthetic corpora of 10k, 100k and 1M chunks.

Dense: random unit vectors (384-d, like e5-small) in exact (flat), HNSW and IVF FAISS
indexes (as index/dense.py builds them): build time, memory held (the serialised index), query latency, and the
approximate indexes' recall: the share of queries whose exact nearest neighbour is among
their top 10 (queries are stored vectors plus noise, as questions are near their passages;
random vectors have no meaningful 2nd…10th neighbours, so only the nearest is compared).

Lexical: chunks of words drawn from the article's own word frequencies (as jieba cuts it),
as long as the article's chunks: build time, memory held (traced allocations) and query latency of rank_bm25
(used until this benchmark) and bm25s (index/lexical.py), plus jieba's tokenizing rate.

Used to choose `AUTO_APPROXIMATE_ABOVE` in index/dense.py and the BM25 implementation.
Prints a table; `--json` also writes the figures. Takes ~25 min with the default sizes.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import faiss
import numpy as np

from nanhai_qa.index import JiebaTokenizer, quoted_terms
from nanhai_qa.index.dense import build_faiss
from nanhai_qa.index.lexical import BM25Index
from nanhai_qa.ingest import read_documents

ARTICLE = Path(__file__).resolve().parent.parent / "data" / "nanhai-2023.txt"


def traced_mb(build) -> float:
    """Memory held by what `build` returns (Python and numpy allocations), in MB."""
    gc.collect()
    tracemalloc.start()
    built = build()
    held = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del built
    return held


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def dense_rows(size: int, queries: int, rng: np.random.Generator) -> list[dict]:
    vectors = rng.standard_normal((size, 384), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    noise = rng.standard_normal((queries, 384), dtype=np.float32)
    probes = vectors[rng.choice(size, queries)] + 0.05 * noise
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    rows, exact = [], None
    for kind in ("flat", "hnsw", "ivf"):
        index, build_s = timed(lambda kind=kind: build_faiss(vectors, kind))
        held = faiss.serialize_index(index).nbytes / 2**20
        started = time.perf_counter()
        found = np.stack([index.search(q[None, :], 10)[1][0] for q in probes])
        query_ms = (time.perf_counter() - started) / queries * 1000
        if exact is None:
            exact = found
        recall = float(np.mean([e[0] in f for f, e in zip(found, exact, strict=True)]))
        rows.append({"part": "faiss", "size": size, "kind": kind, "build_s": build_s, "memory_mb": held,
                     "query_ms": query_ms, "recall": recall})
        print_row(rows[-1])
        del index
    return rows


def lexical_rows(size: int, queries: int, rng: np.random.Generator, words: list[str], weights: np.ndarray,
                 chunk_lengths: np.ndarray, tokenizer: JiebaTokenizer) -> list[dict]:
    # Chunks as word lists drawn from the article's words; jieba's rate on them joined into
    # text is measured on a sample and projected to the whole corpus.
    lengths = rng.choice(chunk_lengths, size)
    drawn = rng.choice(len(words), int(lengths.sum()), p=weights)
    tokenized = [[words[i] for i in piece] for piece in np.split(drawn, np.cumsum(lengths)[:-1])]
    probes = [[words[i] for i in rng.choice(len(words), 4, p=weights)] for _ in range(queries)]
    del drawn
    sample = ["".join(chunk) for chunk in tokenized[:5_000]]
    _, tokenize_s = timed(lambda: [tokenizer(t) for t in sample])
    rows = []

    def identity(text):  # chunks are word lists already
        return text

    for name in ("rank_bm25", "bm25s"):
        if name == "rank_bm25":
            try:
                from rank_bm25 import BM25Okapi
            except ImportError:
                print("   (rank_bm25 not installed: pip install rank-bm25==0.2.2 to compare)")
                continue
            build = lambda: BM25Okapi(tokenized)  # noqa: E731
        else:
            build = lambda: BM25Index.build(tokenized, identity)  # noqa: E731
        held = traced_mb(build)
        index, build_s = timed(build)
        score = index.get_scores if name == "rank_bm25" else index.scores
        started = time.perf_counter()
        for probe in probes:
            np.argpartition(-np.asarray(score(probe)), 50)[:50]
        query_ms = (time.perf_counter() - started) / queries * 1000
        rows.append({"part": "bm25", "size": size, "kind": name, "build_s": build_s, "memory_mb": held,
                     "query_ms": query_ms, "tokenize_s": size / len(sample) * tokenize_s})
        print_row(rows[-1])
        del index, score
    return rows


def print_row(row: dict) -> None:
    extra = f"{row['recall']:>8.3f}" if "recall" in row else f"{'':>8}"
    if "tokenize_s" in row:
        extra += f"   jieba for all chunks ≈ {row['tokenize_s']:.0f} s"
    print(f"{row['part']:>6} {row['size']:>9,} {row['kind']:>10} {row['build_s']:>9.1f} {row['memory_mb']:>9.0f} "
          f"{row['query_ms']:>9.2f} {extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip", choices=["faiss", "bm25"], help="leave one part out")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    documents = read_documents([ARTICLE])
    tokenizer = JiebaTokenizer(quoted_terms(d.text for d in documents))
    counts = Counter(w for d in documents for c in d.chunks for w in tokenizer(c.text))
    words = list(counts)
    weights = np.array([counts[w] for w in words], dtype=np.float64)
    weights /= weights.sum()
    chunk_lengths = np.array([max(1, len(tokenizer(c.text))) for d in documents for c in d.chunks])
    print(f"faiss threads {faiss.omp_get_max_threads()}; article vocabulary {len(words)} words, "
          f"{chunk_lengths.mean():.0f} words per chunk")
    print(f"{'part':>6} {'chunks':>9} {'kind':>10} {'build s':>9} {'held MB':>9} {'query ms':>9} {'recall':>8}")
    BM25Index.build([["预热"]], lambda words: words)  # bm25s's first build allocates once for itself
    rows = []
    for size in args.sizes:
        if args.skip != "faiss":
            rows += dense_rows(size, args.queries, rng)
        if args.skip != "bm25":
            rows += lexical_rows(size, args.queries, rng, words, weights, chunk_lengths, tokenizer)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
