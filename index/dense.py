"""Dense search in FAISS: inner product on L2-normalised vectors."""

from __future__ import annotations

import faiss
import numpy as np

KINDS = ("auto", "flat", "hnsw", "ivf")
# Measured with eval/bench_scale.py on 2 cores (384-d; README, "How cost grows"): exact
# search costs 1.6 ms per query at 10k vectors, 18 ms at 100k, 229 ms at 1M. Above 200k,
# IVF: it finds the true nearest neighbour 98-99% of the time at 1.4 ms (100k) and 12.6 ms
# (1M), building in 12 s and 5 min, where HNSW (M=32, efSearch=64) found 89% and 31% and
# took 74 s and 21 min to build.
AUTO_APPROXIMATE_ABOVE = 200_000


def build_faiss(vectors: np.ndarray, kind: str = "auto") -> faiss.Index:
    n, dim = vectors.shape
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "auto":
        kind = "ivf" if n > AUTO_APPROXIMATE_ABOVE else "flat"
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    elif kind == "ivf":
        nlist = max(1, min(4096, int(4 * np.sqrt(n))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = max(1, nlist // 16)
    else:
        raise ValueError(f"unknown FAISS index kind {kind!r}; choose one of {', '.join(KINDS)}")
    index.add(vectors)
    return index


def search_all(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for one query vector; ids of -1 (not found) are dropped."""
    k = min(k, index.ntotal)
    scores, ids = index.search(np.ascontiguousarray(query[None, :], dtype=np.float32), k)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
