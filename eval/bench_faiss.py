"""FAISS at growing sizes: build time and query latency of exact (flat) vs HNSW vs IVF
search on random unit vectors (384-d, like e5-small), and the approximate indexes' recall:
the share of queries whose exact nearest neighbour is among their top 10 (random vectors
have no meaningful 2nd…10th neighbours, so only the nearest is compared).
Used to choose `AUTO_APPROXIMATE_ABOVE` in index/dense.py. Prints figures."""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np

from index.dense import build_faiss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"faiss threads: {faiss.omp_get_max_threads()}")
    print(f"{'size':>8} {'kind':>5} {'build s':>8} {'query ms':>9} {'recall 1@10':>11}")
    for size in args.sizes:
        vectors = rng.standard_normal((size, 384), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        # Queries near stored vectors, as real questions are near their passages.
        noise = rng.standard_normal((args.queries, 384), dtype=np.float32)
        queries = vectors[rng.choice(size, args.queries)] + 0.05 * noise
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        exact = None
        for kind in ("flat", "hnsw", "ivf"):
            started = time.perf_counter()
            index = build_faiss(vectors, kind)
            build = time.perf_counter() - started
            started = time.perf_counter()
            found = np.stack([index.search(q[None, :], 10)[1][0] for q in queries])
            per_query = (time.perf_counter() - started) / len(queries) * 1000
            if exact is None:
                exact = found
            recall = np.mean([e[0] in f for f, e in zip(found, exact, strict=True)])
            print(f"{size:>8} {kind:>5} {build:>8.1f} {per_query:>9.2f} {recall:>11.3f}")


if __name__ == "__main__":
    main()
