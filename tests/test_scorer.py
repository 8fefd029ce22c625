"""The answer scorer with the real model and a real index."""


def test_calibration_on_a_fixed_sample(settings):
    """P(answerable) says how often the answer is really there, on the development split of
    CMRC 2018 as a multi-document corpus (real model, real index; 185 answerable and 31
    unanswerable questions): within 0.1 on average over ten bins. The best sentence's
    probability is as calibrated against how often it holds the gold answer."""
    from nanhai_qa.app.answering.engine import engine_for
    from nanhai_qa.app.profile import CorpusProfile
    from nanhai_qa.eval.bench_answers import expected_calibration_error
    from nanhai_qa.eval.mrc import corpus
    from nanhai_qa.eval.scorer_data import _holds_gold, retriever_for
    from nanhai_qa.index import load_embedder

    split = corpus("cmrc", "dev")
    cache_dir = settings.storage.cache_dir
    embedder = load_embedder(settings.retrieval.embedding_model, cache_dir, log=lambda m: None)
    retriever = retriever_for(split.documents, embedder, cache_dir / "mrc" / "cmrc-dev", lambda m: None)
    engine = engine_for(retriever, settings, CorpusProfile(), lambda m: None)
    stated, happened, best, right = [], [], [], []
    for questions, answerable in ((split.answerable, True), (split.unanswerable, False)):
        for q in questions:
            judgement = engine.retrieve(q.question).judgement
            stated.append(judgement.answerable)
            happened.append(answerable)
            if judgement.ranked:
                best.append(judgement.ranked[0].probability)
                right.append(_holds_gold(judgement.ranked[0].candidate, q))
    assert len(stated) == 216
    assert expected_calibration_error(stated, happened) <= 0.1
    assert expected_calibration_error(best, right) <= 0.15


def test_training_runs_on_the_article(settings):
    """`make train-scorer`'s own steps, on the article's Chinese questions only (the public
    corpora take minutes to embed, and the article has too few English questions to fit a
    model): examples from the real index, both models fitted (the answerability model linear,
    and as the networks Chinese questions get), calibrated and thresholded on the dev part,
    and the result written and loaded as a scorer."""
    import json

    from nanhai_qa.app.answering.scorer import FEATURES, AnswerScorer, MLPModel, load_scorer
    from nanhai_qa.eval.scorer_data import Examples
    from nanhai_qa.eval.train_scorer import add_article_examples, train_script

    train_set, dev = Examples(), Examples()
    add_article_examples(settings.storage.cache_dir, train_set, dev)
    assert len(train_set.groups) > 250 and len(dev.groups) > 30
    assert all(f.shape[1] == len(FEATURES) for f in train_set.features)
    assert sum(labels.any() for labels in train_set.labels) > 150  # evidence sentences found among the candidates
    model, figures = train_script(train_set.only("chinese"), {"article": dev.only("chinese")}, article_weight=1.0)
    assert figures["article"]["accuracy"] > 0.8 and figures["article"]["false_refusals"] <= 0.1, figures
    assert 0.0 < model.refuse_below < 1.0 and model.temperature > 0
    network, figures = train_script(train_set.only("chinese"), {"article": dev.only("chinese")}, article_weight=1.0,
                                    network=True)
    assert figures["article"]["accuracy"] > 0.8 and figures["article"]["false_refusals"] <= 0.1, figures
    path = settings.storage.cache_dir / "scorer-from-test.json"
    path.write_text(json.dumps(AnswerScorer({"chinese": network, "other": model}).to_json()), encoding="utf-8")
    loaded = load_scorer(path)
    assert isinstance(loaded.models["chinese"].answerability, MLPModel)
    assert loaded.models["chinese"].refuse_below == network.refuse_below
    assert loaded.models["other"].refuse_below == model.refuse_below


def test_answering_encodes_only_the_question_in_latent_terms(engine):
    """The index holds its sentences' latent terms (and their contexts'), so a question costs
    one encoding; the sentence that answers covers most of the question's terms."""
    import numpy as np

    from nanhai_qa.app.answering.scorer import FEATURES, LATENT_FEATURES, CandidateFeatures

    retriever = engine.retriever
    terms = retriever.latent_terms
    assert terms is not None and retriever.corpus.latent
    question = "南海区人民医院的新院到底开业了没有？"
    query = retriever.prepare(question)
    features = CandidateFeatures(retriever)
    candidates = features.candidates(retriever.search(query, k=5))
    before = terms.encoded
    matrix = features.matrix(query, candidates)
    assert terms.encoded == before + 1  # the question; every sentence and context was remembered
    latent = matrix[:, [FEATURES.index(f) for f in LATENT_FEATURES]]
    assert np.all(latent[:, :3] >= 0) and np.all(latent[:, :3] <= 1) and np.all(latent[:, 3] <= 0)
    cover = matrix[:, FEATURES.index("latent_cover")]
    answering = [i for i, c in enumerate(candidates) if "人民医院新院" in c.sentence.text]
    assert answering and cover[answering[0]] == cover.max() > 0.2
