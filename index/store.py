"""Build the corpus index (embeddings, FAISS, BM25, latent terms) and keep it in a cache directory.

Files: `dense.faiss` (chunk vectors), `vectors.npz` (sentence and heading vectors),
`chunks.json`, `bm25/` (the lexical index, when the tokenizer names itself), `latent.npz`
(the latent terms of every sentence and of what stands around it, when built with them), and
`manifest.json` (source sha256, model id, chunker version, tokenizer, latent terms and the
sha256 of every file written). A stale manifest, or a missing, truncated or corrupt
file, is reported in one line and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from nanhai_qa.ingest import CHUNKER_VERSION, Chunk, Document, Span
from nanhai_qa.ingest.files import ManifestError, atomic_target, read_manifest, write_manifest

from .dense import DEFAULT_FAISS, FaissParams, build_faiss
from .embedder import Embedder
from .latent import LatentTerms, LatentVector, context_text, pack, unpack
from .lexical import BM25Index, Tokenizer, tokenizer_id
from .options import ChunkContext, choose

INDEX_FORMAT = "7"  # 5: the manifest records the FAISS parameters; 6: BM25 is saved; 7: latent terms
# A byline ("文 / 珠江时报记者 黄婷") says who wrote the text only by its form; this tag
# says it in words, so "谁写的？" finds it.
KIND_TAGS = {"byline": "作者（谁写的、撰稿记者、来源报纸）："}
SECTION_NUMBER = re.compile(r"^([(（][一二三四五六七八九十]+[)）]|\d{1,2}[\s、.．]|#+)\s*")
FILES = ("dense.faiss", "vectors.npz", "chunks.json")
CHANGED = {  # in words
    "sources": "source documents", "faiss": "FAISS parameters", "lexical": "BM25 tokenizer", "latent": "latent terms",
}


@dataclass
class CorpusIndex:
    documents: dict[str, Document]
    chunks: list[Chunk]
    faiss_index: faiss.Index
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray  # one row per (chunk, sentence), in chunk order
    sentence_offsets: np.ndarray  # chunk i's sentences are rows [offsets[i], offsets[i+1])
    heading_names: list[str]  # distinct heading paths, joined with " › "
    heading_vectors: np.ndarray  # embedding of each path's last heading
    chunk_heading: np.ndarray  # index into heading_names for each chunk, -1 when none
    manifest: dict
    bm25: BM25Index | None = None  # built with the tokenizer the manifest names ("lexical")
    # latent terms (manifest "latent") of each sentence and each chunk's context_text, by text
    latent: dict[str, LatentVector] = field(default_factory=dict)


def section_name(heading: str) -> str:
    """"(三) 全力以赴推动高质量发展" → "全力以赴推动高质量发展"."""
    return SECTION_NUMBER.sub("", heading)


def embedding_text(chunk: Chunk, context: ChunkContext | str = ChunkContext.PATH) -> str:
    """The text embedded for `chunk`: none of its headings, its section's name as a short
    tag, or its whole heading path, before its own text."""
    context = choose(ChunkContext, context, "chunk context")
    prefix = ""
    if chunk.heading_path and context == "section":
        prefix = section_name(chunk.heading_path[-1]) + "：\n"
    elif chunk.heading_path and context == "path":
        prefix = " › ".join(chunk.heading_path) + "\n"
    return prefix + KIND_TAGS.get(chunk.kind, "") + chunk.text


def lexical_text(chunk: Chunk) -> str:
    """What BM25 indexes: the section name joins the chunk's words, a short tag, not the whole path."""
    return embedding_text(chunk, ChunkContext.SECTION)


def embedded_texts(chunks: list[Chunk], headings: list[str], context: str) -> list[str]:
    """What the index embeds, in the order its vectors are kept: each chunk (with its
    context), each sentence, and the last part of each heading path."""
    return ([embedding_text(c, context) for c in chunks] + [s.text for c in chunks for s in c.sentences]
            + [h.split(" › ")[-1] for h in headings])


def latent_texts(documents: list[Document]) -> list[str]:
    """What the index encodes into latent terms: every sentence and every chunk's context."""
    return list(dict.fromkeys(
        [s.text for d in documents for c in d.chunks for s in c.sentences]
        + [t for d in documents for c in d.chunks if (t := context_text(c, d.title))]
    ))


def source_fingerprint(documents: list[Document]) -> dict[str, str]:
    return {d.id: hashlib.sha256(d.text.encode()).hexdigest() for d in documents}


def build_index(
    documents: list[Document], embedder: Embedder, faiss_params: FaissParams = DEFAULT_FAISS,
    context: ChunkContext | str = ChunkContext.PATH,
    progress: Callable[[str, int, int], None] | None = None, known: dict[str, np.ndarray] | None = None,
    tokenizer: Tokenizer | None = None, latent_terms: LatentTerms | None = None,
    known_latent: dict[str, LatentVector] | None = None,
) -> CorpusIndex:
    """Embed the documents' chunks, sentences and headings, index their words with BM25
    when `tokenizer` names itself (JiebaTokenizer), and their latent terms with
    `latent_terms`. Texts found in `known` and `known_latent` (the previous index's, same
    model and settings) are not encoded again: changing one document of many re-embeds only
    that document."""
    chunks = [c for d in documents for c in d.chunks]
    headings = sorted({c.heading for c in chunks if c.heading_path})
    texts = embedded_texts(chunks, headings, context)
    known = known or {}
    missing = sorted({t for t in texts if t not in known})
    vectors = dict(known)
    batch = 64
    for i in range(0, len(missing), batch):
        vectors.update(zip(missing[i : i + batch], embedder.embed_passages(missing[i : i + batch]), strict=True))
        if progress:
            progress("embedding", min(i + batch, len(missing)), len(missing))
    latent: dict[str, LatentVector] = {}
    if latent_terms is not None:
        previous = known_latent or {}
        wanted = latent_texts(documents)
        latent = {t: previous[t] for t in wanted if t in previous}
        missing_latent = [t for t in wanted if t not in latent]
        for i in range(0, len(missing_latent), batch):
            part = missing_latent[i : i + batch]
            latent.update(zip(part, latent_terms.encode(part), strict=True))
            if progress:
                progress("latent terms", min(i + batch, len(missing_latent)), len(missing_latent))
    matrix = np.stack([vectors[t] for t in texts]).astype(np.float32) if texts else np.zeros((0, 1), np.float32)
    n, m = len(chunks), sum(len(c.sentences) for c in chunks)
    lexical = tokenizer_id(tokenizer) if tokenizer else None
    heading_ids = {h: i for i, h in enumerate(headings)}
    return CorpusIndex(
        documents={d.id: d for d in documents},
        chunks=chunks,
        faiss_index=build_faiss(matrix[:n], faiss_params),
        chunk_vectors=matrix[:n],
        sentence_vectors=matrix[n : n + m],
        sentence_offsets=np.cumsum([0] + [len(c.sentences) for c in chunks]),
        heading_names=headings,
        heading_vectors=matrix[n + m :],
        chunk_heading=np.array([heading_ids.get(c.heading, -1) for c in chunks], dtype=np.int64),
        manifest={
            "format": INDEX_FORMAT, "chunker_version": CHUNKER_VERSION, "model": embedder.model_id,
            "faiss": asdict(faiss_params), "context": context, "lexical": lexical,
            "latent": latent_terms.id if latent_terms else None, "sources": source_fingerprint(documents),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S"), "chunks": n, "embedded": len(missing),
        },
        bm25=BM25Index.build([lexical_text(c) for c in chunks], tokenizer) if lexical and tokenizer else None,
        latent=latent,
    )


def save_index(index: CorpusIndex, directory: Path) -> None:
    """Write into a temporary folder, then swap it in: a crash never leaves a half index."""
    with atomic_target(directory) as work:
        work.mkdir()
        faiss.write_index(index.faiss_index, str(work / "dense.faiss"))
        np.savez(
            work / "vectors.npz", chunk_vectors=index.chunk_vectors, sentence_vectors=index.sentence_vectors,
            sentence_offsets=index.sentence_offsets, heading_vectors=index.heading_vectors,
            chunk_heading=index.chunk_heading,
        )
        (work / "chunks.json").write_text(json.dumps({
            "headings": index.heading_names,
            "chunks": [asdict(c) for c in index.chunks],
        }, ensure_ascii=False))
        if index.bm25 is not None:
            (work / "bm25").mkdir()
            index.bm25.save(work / "bm25")
        if index.manifest.get("latent"):
            ids, weights, offsets = pack(index.latent.values())
            np.savez(work / "latent.npz", texts=np.array(list(index.latent), dtype=str), ids=ids, weights=weights,
                     offsets=offsets)
        index.manifest = write_manifest(work, {k: v for k, v in index.manifest.items() if k != "files"})


class StaleIndex(Exception):
    """The cached index cannot be used; the message says why in one line."""


class IndexUnavailable(Exception):
    """A read-only start found no usable index; the message says where, why and what to run."""


def load_index(
    directory: Path, documents: list[Document], model_id: str, faiss_params: FaissParams, context: ChunkContext | str,
    tokenizer: Tokenizer | None = None, latent_terms: LatentTerms | None = None,
) -> CorpusIndex:
    manifest = _read_manifest(directory, verify=False)  # the cheap checks first
    expected = {
        "format": INDEX_FORMAT, "chunker_version": CHUNKER_VERSION, "model": model_id,
        "faiss": asdict(faiss_params), "context": context, "sources": source_fingerprint(documents),
        "lexical": tokenizer_id(tokenizer) if tokenizer else None,
        "latent": latent_terms.id if latent_terms else None,
    }
    for key, value in expected.items():
        if manifest.get(key) != value:
            raise StaleIndex(f"the {CHANGED.get(key, key.replace('_', ' '))} changed")
    return _read_files(directory, _read_manifest(directory), documents, tokenizer)


def _read_manifest(directory: Path, verify: bool = True) -> dict:
    try:
        manifest = read_manifest(directory, verify)
    except ManifestError as e:
        raise StaleIndex("no index built yet" if e.missing else f"index {e}") from None
    if verify and not set(FILES) <= set(manifest["files"]):
        raise StaleIndex("the index manifest is damaged")
    return manifest


def _read_files(
    directory: Path, manifest: dict, documents: list[Document], tokenizer: Tokenizer | None = None,
) -> CorpusIndex:
    """The index's files; its BM25 too when `tokenizer` is given (the manifest has vouched for it)."""
    try:
        faiss_index = faiss.read_index(str(directory / "dense.faiss"))
        arrays = np.load(directory / "vectors.npz")
        stored = json.loads((directory / "chunks.json").read_text())
        chunks = [_chunk_from_json(c) for c in stored["chunks"]]
        return CorpusIndex(
            documents={d.id: d for d in documents}, chunks=chunks, faiss_index=faiss_index,
            chunk_vectors=arrays["chunk_vectors"], sentence_vectors=arrays["sentence_vectors"],
            sentence_offsets=arrays["sentence_offsets"], heading_names=stored["headings"],
            heading_vectors=arrays["heading_vectors"], chunk_heading=arrays["chunk_heading"],
            manifest=manifest,
            bm25=BM25Index.load(directory / "bm25", tokenizer) if tokenizer and manifest.get("lexical") else None,
            latent=_read_latent(directory) if manifest.get("latent") else {},
        )
    except Exception as e:  # any unreadable file means: rebuild
        raise StaleIndex(f"index files could not be read ({type(e).__name__})") from None


def _read_latent(directory: Path) -> dict[str, LatentVector]:
    arrays = np.load(directory / "latent.npz")
    vectors = unpack(arrays["ids"], arrays["weights"], arrays["offsets"])
    return dict(zip(arrays["texts"].tolist(), vectors, strict=True))


def known_texts(
    directory: Path, model_id: str, context: str, latent_terms: LatentTerms | None,
) -> tuple[dict[str, np.ndarray], dict[str, LatentVector]]:
    """What the index in `directory` already encoded, when it is intact (read once): each
    text's vector when it was built with this model, and each text's latent terms when built
    with the same ones; empty otherwise. Both depend on their model alone, so an index of an
    older format or chunker still lends them."""
    try:
        manifest = _read_manifest(directory)
        old = _read_files(directory, manifest, [])
        vectors = {}
        if manifest.get("model") == model_id:
            texts = embedded_texts(old.chunks, old.heading_names, manifest.get("context", context))
            rows = np.concatenate([old.chunk_vectors, old.sentence_vectors, old.heading_vectors])
            vectors = dict(zip(texts, rows, strict=True)) if len(texts) == len(rows) else {}
    except (StaleIndex, ValueError, TypeError, KeyError):
        return {}, {}
    same_latent = latent_terms is not None and manifest.get("latent") == latent_terms.id
    return vectors, old.latent if same_latent else {}


def _chunk_from_json(c: dict) -> Chunk:
    return Chunk(**dict(c, heading_path=tuple(c["heading_path"]), sentences=tuple(Span(**s) for s in c["sentences"])))


def open_index(
    directory: Path, documents: list[Document], embedder: Embedder, faiss_params: FaissParams = DEFAULT_FAISS,
    context: ChunkContext | str = ChunkContext.PATH, log: Callable[[str], None] = print,
    progress: Callable[[str, int, int], None] | None = None, rebuild: bool = False, readonly: bool = False,
    tokenizer: Tokenizer | None = None, latent_terms: LatentTerms | None = None,
) -> tuple[CorpusIndex, bool]:
    """Load the cached index, or build and save it; returns (index, was_built). `readonly`
    (a replica serving an index built once by `nanhai-qa index`) never builds: a missing,
    stale or damaged index raises IndexUnavailable instead."""
    if not rebuild:
        try:
            index = load_index(directory, documents, embedder.model_id, faiss_params, context, tokenizer,
                               latent_terms)
            return index, False
        except StaleIndex as e:
            if readonly:
                raise IndexUnavailable(
                    f"the index at {directory} cannot be served read-only: {e}; build it with `nanhai-qa index` "
                    "(same corpus and settings)"
                ) from None
            log(f"Index at {directory}: {e}; rebuilding.")
    known, previous_latent = ({}, {}) if rebuild else known_texts(directory, embedder.model_id, context, latent_terms)
    index = build_index(documents, embedder, faiss_params, context, progress, known, tokenizer, latent_terms,
                        previous_latent)
    if known:
        log(f"Index at {directory}: {index.manifest['embedded']} new or changed texts embedded, the rest kept.")
    try:
        save_index(index, directory)
    except OSError as e:  # e.g. a read-only cache: serve from memory, rebuild next start
        log(f"Index at {directory} could not be saved ({e.strerror or e}); using it from memory.")
    return index, True
