"""The index cache on the real article with a hashing embedder (tests/fakes.py): what is
written, what is trusted on the next start, and how damage is named and repaired. One
round trip with the real model is in tests/test_index.py."""

from __future__ import annotations

import shutil
from dataclasses import replace

import faiss
import numpy as np
import pytest

from nanhai_qa.index import FaissKind, FaissParams, JiebaTokenizer, Retriever, open_index, quoted_terms
from nanhai_qa.index.dense import build_faiss, search_all
from nanhai_qa.ingest.files import ManifestError, atomic_target, read_manifest, write_manifest
from nanhai_qa.ingest.structure import chunk_document
from tests.fakes import HashingEmbedder

INDEX_FILES = {"dense.faiss", "vectors.npz", "chunks.json", "manifest.json"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, article):
    """An index of the article, built once, copied fresh for each case."""
    directory = tmp_path_factory.mktemp("pristine") / "index"
    open_index(directory, [article], HashingEmbedder(), log=lambda m: None)
    return directory


def fresh_copy(pristine, tmp_path):
    directory = tmp_path / "index"
    shutil.copytree(pristine, directory)
    return directory


def test_an_index_is_written_once_and_trusted_after(tmp_path, article):
    directory, embedder, log = tmp_path / "index", HashingEmbedder(), []
    first, built = open_index(directory, [article], embedder, log=log.append)
    assert built and log == [f"Index at {directory}: no index built yet; rebuilding."]
    assert {p.name for p in directory.iterdir()} == INDEX_FILES
    assert first.manifest["model"] == embedder.model_id and first.manifest["sources"]["nanhai-2023"]
    assert set(first.manifest["files"]) == INDEX_FILES - {"manifest.json"}

    embedded = embedder.embedded
    again, built = open_index(directory, [article], embedder, log=log.append)
    assert not built and again.chunks == first.chunks and embedder.embedded == embedded  # nothing re-embedded
    assert np.array_equal(again.sentence_vectors, first.sentence_vectors)


@pytest.mark.parametrize(("name", "damage", "said"), [
    ("dense.faiss", "garbage", "dense.faiss is truncated or corrupt"),
    ("dense.faiss", "truncated", "dense.faiss is truncated or corrupt"),
    ("vectors.npz", "deleted", "vectors.npz is missing"),
    ("vectors.npz", "garbage", "vectors.npz is truncated or corrupt"),
    ("chunks.json", "truncated", "chunks.json is truncated or corrupt"),
    ("manifest.json", "garbage", "manifest is damaged"),
    ("manifest.json", "deleted", "no index built yet"),
])
def test_damage_is_named_in_one_line_and_repaired(pristine, tmp_path, article, name, damage, said):
    directory = fresh_copy(pristine, tmp_path)
    path = directory / name
    if damage == "deleted":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(b"\x00garbage\xff" * 100)
    log: list[str] = []
    index, built = open_index(directory, [article], HashingEmbedder(), log=log.append)
    assert built and len(log) == 1 and said in log[0] and log[0].endswith("rebuilding."), log
    assert {p.name for p in directory.iterdir()} == INDEX_FILES
    log.clear()
    _, built = open_index(directory, [article], HashingEmbedder(), log=log.append)
    assert not built and not log  # repaired: the next start loads it without a word


def test_a_changed_source_re_embeds_only_what_changed(pristine, tmp_path, article):
    directory = fresh_copy(pristine, tmp_path)
    text = article.text.replace("39家", "40家")
    _, chunks = chunk_document(article.id, text)
    changed = replace(article, text=text, chunks=tuple(chunks))
    embedder, log = HashingEmbedder(), []
    index, built = open_index(directory, [changed], embedder, log=log.append)
    assert built and "source documents changed" in log[0]
    assert any("40家" in c.text for c in index.chunks)
    assert 0 < embedder.embedded <= 3  # the changed paragraph and its sentence; the rest is kept
    assert index.manifest["embedded"] == embedder.embedded


def test_an_index_that_cannot_be_saved_is_used_from_memory(tmp_path, article):
    # Root ignores file permissions, so an unwritable place is a path through a regular file.
    (tmp_path / "not-a-folder").write_text("x")
    log: list[str] = []
    index, built = open_index(tmp_path / "not-a-folder" / "index", [article], HashingEmbedder(), log=log.append)
    assert built and index.chunks and len(log) == 2 and "could not be saved" in log[1]


def test_other_faiss_parameters_rebuild_the_index(pristine, tmp_path, article):
    directory = fresh_copy(pristine, tmp_path)
    log: list[str] = []
    index, built = open_index(directory, [article], HashingEmbedder(), FaissParams(FaissKind.HNSW), log=log.append)
    assert built and "the FAISS parameters changed" in log[0] and isinstance(index.faiss_index, faiss.IndexHNSWFlat)


def test_faiss_kinds_agree_on_clear_matches():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    kinds = [("flat", faiss.IndexFlatIP), ("hnsw", faiss.IndexHNSWFlat), ("ivf", faiss.IndexIVFFlat)]
    for kind, expected_type in kinds:
        index = build_faiss(vectors, FaissParams(kind))
        assert isinstance(index, expected_type)
        scores, ids = search_all(index, vectors[123], 5)
        assert ids[0] == 123 and scores[0] == pytest.approx(1.0, abs=1e-4)
    assert isinstance(build_faiss(vectors), faiss.IndexFlatIP)  # small corpora stay exact
    assert isinstance(build_faiss(vectors, FaissParams(approximate_above=1000)), faiss.IndexIVFFlat)
    with pytest.raises(ValueError, match="unknown FAISS index kind 'lsh'; choose one of auto, flat, hnsw, ivf"):
        build_faiss(vectors, FaissParams("lsh"))


def test_atomic_target_keeps_the_old_folder_when_writing_fails(tmp_path):
    target = tmp_path / "entry"
    with atomic_target(target) as work:
        work.mkdir()
        (work / "a.txt").write_text("old")
        write_manifest(work, {"what": "test"})
    with pytest.raises(RuntimeError), atomic_target(target) as work:
        work.mkdir()
        (work / "a.txt").write_text("half")
        raise RuntimeError("stopped half way")
    assert (target / "a.txt").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["entry"]
    assert read_manifest(target)["what"] == "test"
    (target / "a.txt").write_text("changed")
    with pytest.raises(ManifestError, match="a.txt is truncated or corrupt"):
        read_manifest(target)
    with atomic_target(tmp_path / "file.bin") as partial:  # a file works the same way
        partial.write_bytes(b"whole")
    assert (tmp_path / "file.bin").read_bytes() == b"whole"


def test_bm25_is_saved_with_the_index_and_loaded_at_start(tmp_path, article):
    tokenizer = JiebaTokenizer(quoted_terms([article.text]))
    directory = tmp_path / "index"
    built, _ = open_index(directory, [article], HashingEmbedder(), tokenizer=tokenizer, log=lambda m: None)
    assert built.manifest["lexical"] == tokenizer.id and "bm25/document_frequency.json" in built.manifest["files"]
    loaded, rebuilt = open_index(directory, [article], HashingEmbedder(), tokenizer=tokenizer, log=lambda m: None)
    assert not rebuilt and loaded.bm25 is not None
    words = tokenizer("新认定了几家隐形冠军企业")
    assert np.array_equal(loaded.bm25.scores(words), built.bm25.scores(words))
    assert loaded.bm25.idf("企业") == built.bm25.idf("企业") and loaded.bm25.scores(words).max() > 0
    assert Retriever(loaded, HashingEmbedder(), tokenizer).bm25 is loaded.bm25  # not tokenized again

    log: list[str] = []
    other = JiebaTokenizer(["一个别的词"])
    _, rebuilt = open_index(directory, [article], HashingEmbedder(), tokenizer=other, log=log.append)
    assert rebuilt and "the BM25 tokenizer changed" in log[0]
