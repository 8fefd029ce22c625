"""Dense search in FAISS: inner product on L2-normalised vectors."""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from .options import FaissKind, choose

# Measured with eval/bench_scale.py on 2 cores (384-d; README, "How cost grows"): exact
# search costs 1.6 ms per query at 10k vectors, 18 ms at 100k, 229 ms at 1M. Above 200k,
# IVF: it finds the true nearest neighbour 98-99% of the time at 1.4 ms (100k) and 12.6 ms
# (1M), building in 12 s and 5 min, where HNSW (M=32, efSearch=64) found 89% and 31% and
# took 74 s and 21 min to build.


@dataclass(frozen=True)
class FaissParams:
    """Which FAISS index, and its parameters (the measured defaults above)."""

    kind: FaissKind = FaissKind.AUTO
    approximate_above: int = 200_000  # "auto": exact up to this many vectors, IVF above
    hnsw_neighbours: int = 32  # M
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 64
    ivf_lists_per_root: float = 4.0  # IVF lists = this × √n (at most 4096)
    ivf_probe_share: float = 1 / 16  # share of the lists searched per query


DEFAULT_FAISS = FaissParams()


def build_faiss(vectors: np.ndarray, params: FaissParams = DEFAULT_FAISS) -> faiss.Index:
    n, dim = vectors.shape
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    kind = choose(FaissKind, params.kind, "FAISS index kind")
    if kind == FaissKind.AUTO:
        kind = FaissKind.IVF if n > params.approximate_above else FaissKind.FLAT
    if kind == FaissKind.FLAT:
        index = faiss.IndexFlatIP(dim)
    elif kind == FaissKind.HNSW:
        index = faiss.IndexHNSWFlat(dim, params.hnsw_neighbours, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.hnsw_ef_construction
        index.hnsw.efSearch = params.hnsw_ef_search
    else:
        nlist = max(1, min(4096, int(params.ivf_lists_per_root * np.sqrt(n))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = max(1, round(nlist * params.ivf_probe_share))
    index.add(vectors)
    return index


def search_all(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for one query vector; ids of -1 (not found) are dropped."""
    k = min(k, index.ntotal)
    scores, ids = index.search(np.ascontiguousarray(query[None, :], dtype=np.float32), k)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
