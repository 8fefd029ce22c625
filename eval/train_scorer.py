"""`make train-scorer`: learn the answer scorer (app/answering/scorer.py) and write app/answering/scorer.json.

Training data: the train split of the public reading-comprehension sets (data/mrc/, split by
article) and the train part of the article's eval set (split by paragraph); see
eval/scorer_data.py for how examples are made. Development data, used to calibrate the
probabilities and choose the thresholds, and never trained on: the dev splits of both sets,
and eval/dev.jsonl. Test splits are only read by `make bench-answers`.

Reproducible: fixed splits (hashes of titles and paragraphs), a fixed seed, deterministic
solvers. Takes about 8 minutes on 2 cores the first time (most of it embedding the corpora,
which are cached), under a minute after.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nanhai_qa.app.answering.engine import build_retriever, question_frame
from nanhai_qa.app.answering.scorer import (
    FEATURES,
    GROUP_FEATURES,
    QUESTION_TYPES,
    SCRIPTS,
    AnswerScorer,
    LinearModel,
    MLPModel,
    ScriptModel,
    group_features,
)
from nanhai_qa.app.profile import load_profile
from nanhai_qa.app.settings import DEFAULT_CORPUS, DEFAULT_SCORER, Settings
from nanhai_qa.index import load_embedder

from .metrics import load_items
from .mrc import DATASETS, corpus, english_questions, in_english, load_paragraphs
from .scorer_data import Examples, article_examples, article_split, mrc_examples, retriever_for
from .sets import DEV_SET, EVAL_SET, TRAIN_SET

SEED = 0
# The article's labelled questions, pooled and split by paragraph (eval/scorer_data.py,
# article_split), and eval/train.jsonl, for training only; eval/heldout.jsonl is never read here.
ARTICLE_SETS = (EVAL_SET, DEV_SET)
TOP_K = 5
MAX_CITED_CHARS = 130  # the selection's budget on dev (the target is 150 on test; keep a margin)
MAX_FALSE_REFUSALS = 0.03  # in each dev set (the targets are per set)
# Width of the soft refusal step when choosing the threshold (refusal_rates), in Platt logits:
# about how far float noise between machines moved a dev question's logit (up to 0.35).
THRESHOLD_SMOOTHING = 0.3
ACCURACY_SLACK = 0.005  # a lower keep share must buy at least this much accuracy (more quotes, more to read)
ANSWERABILITY_C = 0.1  # L2 strength of the linear answerability model, chosen on dev (1.0 refused fewer unanswerables)
# The answerability model's family per script, chosen on dev and by cross-validation on the
# article's training questions (README, "What was tried"): networks for Chinese, linear for
# English, where the networks did no better.
ANSWERABILITY_NETWORK = {"chinese": True, "other": False}
NETWORK_HIDDEN, NETWORK_ALPHA, NETWORK_MEMBERS = 32, 1.0, 10
# The scripts whose questions are also trained on with the sentence holding the answer left out
# of their own passages (eval/scorer_data.py, mrc_examples), chosen on dev (README, "What was
# tried"): English refused more near misses; Chinese fewer, at more false refusals.
DROPPED_SENTENCE_SCRIPTS = frozenset({"other"})
LOG_LENGTH = FEATURES.index("log_length")
LIST_QUESTION = FEATURES.index("q_list")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_examples(settings: Settings) -> tuple[Examples, dict[str, Examples]]:
    """(training examples, development examples by set)."""
    embedder = load_embedder(settings.retrieval.embedding_model, settings.storage.cache_dir, log=log)
    english = english_questions()
    train, dev = Examples(), {}
    for dataset in DATASETS:
        started = time.perf_counter()
        paragraphs = [p for p in load_paragraphs(dataset) if p.split == "train"]
        retriever = retriever_for([p.document() for p in paragraphs], embedder,
                                  settings.storage.cache_dir / "mrc" / f"{dataset}-train", log)
        questions = [q for p in paragraphs for q in p.questions]
        mrc_examples(retriever, questions + in_english(questions, english), TOP_K, train, leave_own_out=True,
                     dropped_scripts=DROPPED_SENTENCE_SCRIPTS)
        split = corpus(dataset, "dev")
        retriever = retriever_for(split.documents, embedder, settings.storage.cache_dir / "mrc" / f"{dataset}-dev", log)
        dev[dataset] = Examples()
        for questions, answerable in ((split.answerable, True), (split.unanswerable, False)):
            mrc_examples(retriever, questions + in_english(questions, english), TOP_K, dev[dataset],
                         leave_own_out=False, answerable=answerable)
        log(f"{dataset}: examples built in {time.perf_counter() - started:.0f} s")
    dev["article"] = Examples()
    add_article_examples(settings.storage.cache_dir, train, dev["article"])
    return train, dev


def add_article_examples(cache_dir: Path, train: Examples, dev: Examples) -> None:
    """The bundled article's examples: the train part of its labelled questions and
    eval/train.jsonl into `train`, the dev part into `dev` (split by paragraph)."""
    article = Settings(corpus=[DEFAULT_CORPUS], storage={"cache_dir": cache_dir})
    profile = load_profile(article.profile_path())
    retriever = build_retriever(article, profile, log)
    frame = question_frame(retriever, profile)
    document = next(iter(retriever.corpus.documents.values()))
    items = [i for path in ARTICLE_SETS for i in load_items(path)]
    by_split = {s: [i for i in items if article_split(i, document) == s] for s in ("train", "dev")}
    mode = article.retrieval.mode
    article_examples(retriever, frame, by_split["train"] + load_items(TRAIN_SET), TOP_K, mode, train)
    article_examples(retriever, frame, by_split["dev"], TOP_K, mode, dev)


def standardisation(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and scale; a column (nearly) constant in training keeps scale 1, so
    that a value it takes only at answer time is not blown up by a tiny scale."""
    std = X.std(0)
    return X.mean(0), np.where(std > 1e-4, std, 1.0)


def fit_logistic(X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, c: float = 1.0) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    mean, scale = standardisation(X)
    # Newton's method reaches the (unique) optimum; lbfgs stopped early along directions the
    # features leave flat (filled_t + unfilled_t = q_t), where float noise between machines
    # then moved weights by up to 0.09 and the refusal threshold with them.
    model = LogisticRegression(C=c, solver="newton-cholesky", max_iter=100, random_state=SEED)
    model.fit((X - mean) / scale, y, sample_weight=weight)
    return LinearModel(model.coef_[0].astype(np.float32), float(model.intercept_[0]), mean.astype(np.float32),
                       scale.astype(np.float32))


def fit_network(X: np.ndarray, y: np.ndarray, weight: np.ndarray) -> MLPModel:
    """NETWORK_MEMBERS one-hidden-layer networks from different seeds, averaged (one alone
    moved by a few points of dev refusal recall from seed to seed)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    mean, scale = standardisation(X)
    members = []
    for seed in range(SEED, SEED + NETWORK_MEMBERS):
        model = MLPClassifier(hidden_layer_sizes=(NETWORK_HIDDEN,), alpha=NETWORK_ALPHA, max_iter=300,
                              random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget of epochs, as on dev
            model.fit((X - mean) / scale, y, sample_weight=weight)
        (w1, w2), (b1, b2) = model.coefs_, model.intercepts_
        members.append((w1.astype(np.float32), b1.astype(np.float32), w2[:, 0].astype(np.float32), float(b2[0])))
    return MLPModel(members, mean.astype(np.float32), scale.astype(np.float32))


@dataclass
class DevGroup:
    """One development question: its candidates' logits, labels, lengths, and truth."""

    logits: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray
    group_logit: float
    answerable: bool
    list_question: bool


def dev_groups(model: ScriptModel, examples: Examples) -> list[DevGroup]:
    groups = []
    for features, labels, answerable in zip(examples.features, examples.labels, examples.answerable, strict=True):
        logits = model.selection.logits(features)
        group_logit = float(model.answerability.logits(group_features(features, logits)[None, :])[0])
        groups.append(DevGroup(logits, labels, np.expm1(features[:, LOG_LENGTH]), group_logit, answerable,
                               bool(features[0, LIST_QUESTION])))
    return groups


def fit_temperature(groups: list[DevGroup]) -> float:
    """The softmax temperature that makes the positive's share most likely (dev)."""
    def nll(t: float) -> float:
        total = 0.0
        for g in groups:
            z = g.logits / t
            total -= float(np.log(np.exp(z - z.max())[g.labels > 0].sum() / np.exp(z - z.max()).sum()))
        return total

    return min(np.arange(0.3, 3.01, 0.05), key=nll).item()


def fit_platt(groups: list[DevGroup]) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    x = np.array([[g.group_logit] for g in groups])
    y = np.array([g.labels.any() for g in groups])
    model = LogisticRegression(C=100.0, max_iter=1000, random_state=SEED).fit(x, y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


@dataclass(frozen=True)
class Outcome:
    accuracy: float  # answerable questions answered with a gold sentence among the quotes
    false_refusals: float
    refusal_recall: float
    cited_chars: float  # per answered question


def outcome(groups: list[DevGroup], model: ScriptModel, refuse_below: float, keep_share: float,
            max_sentences: int = 3, max_list_sentences: int = 6) -> Outcome:
    right, refused_answerable, refused_other, chars, answered = 0, 0, 0, 0.0, 0
    for g in groups:
        refuse = model.answerable(g.group_logit) < refuse_below
        if g.answerable:
            refused_answerable += refuse
        else:
            refused_other += refuse
        if refuse:
            continue
        shares = np.exp((g.logits - g.logits.max()) / model.temperature)
        order = np.argsort(-shares, kind="stable")
        kept = [i for i in order if shares[i] >= keep_share * shares[order[0]]]
        kept = kept[: max_list_sentences if g.list_question else max_sentences]
        right += bool(g.answerable and g.labels[kept].any())
        chars += float(g.lengths[kept].sum())
        answered += 1
    n_answerable = sum(g.answerable for g in groups)
    n_other = len(groups) - n_answerable
    return Outcome(
        right / n_answerable if n_answerable else 1.0, refused_answerable / n_answerable if n_answerable else 0.0,
        refused_other / n_other if n_other else 1.0, chars / answered if answered else 0.0,
    )


def refusal_rates(groups: list[DevGroup], model: ScriptModel, refuse_below: float) -> tuple[float, float]:
    """(false refusals, refusal recall) at `refuse_below`, each question refused by a degree:
    a logistic step of width THRESHOLD_SMOOTHING around the threshold (in Platt logits)
    instead of a hard one. The rates then move smoothly with the threshold and the model, so
    the threshold chosen no longer jumps with whichever single question crosses it."""
    cut = math.log(refuse_below / (1 - refuse_below))
    refused = {True: [], False: []}
    for g in groups:
        refused[g.answerable].append(1 / (1 + math.exp(-(cut - model.calibrated(g.group_logit)) / THRESHOLD_SMOOTHING)))
    return (float(np.mean(refused[True])) if refused[True] else 0.0,
            float(np.mean(refused[False])) if refused[False] else 1.0)


def choose_thresholds(dev: dict[str, list[DevGroup]], model: ScriptModel) -> tuple[float, float]:
    """The share of the best sentence's probability a quoted sentence must reach: the highest
    (fewest quotes) whose answers are right within ACCURACY_SLACK of the best share's, among
    those that stay within MAX_CITED_CHARS on average. The refusal threshold: the one refusing
    the most unanswerable questions (mean over the dev sets) while refusing at most
    MAX_FALSE_REFUSALS of the answerable ones in each dev set, both counted smoothly
    (refusal_rates)."""
    shares = (0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03)
    accuracy = {}
    for share in shares:
        results = [outcome(g, model, 0.0, share) for g in dev.values()]
        if all(r.cited_chars <= MAX_CITED_CHARS for r in results):
            accuracy[share] = sum(r.accuracy for r in results) / len(results)
    best = max(accuracy.values(), default=0.0)
    keep_share = max((s for s, a in accuracy.items() if a >= best - ACCURACY_SLACK), default=shares[0])

    def merit(threshold: float) -> tuple[bool, float]:
        rates = [refusal_rates(g, model, threshold) for g in dev.values()]
        if max(false for false, _ in rates) <= MAX_FALSE_REFUSALS:
            return True, float(np.mean([recall for _, recall in rates]))
        return False, -threshold  # none feasible: refuse as little as the grid allows

    refuse_below = max(np.arange(0.02, 0.95, 0.01), key=merit).item()
    return round(refuse_below, 2), keep_share


def train_script(train_set: Examples, dev: dict[str, Examples], article_weight: float,
                 network: bool = False) -> tuple[ScriptModel, dict]:
    """The models for one script of question, with their dev figures; `network`: the
    answerability model is fit_network's, not a logistic regression."""
    X, y, group = train_set.arrays()
    article = np.array([source == "article" for source in train_set.sources])
    row_weight = np.where(article[group], article_weight, 1.0)
    answerable_rows = np.array([labels.any() for labels in train_set.labels])[group]
    selection = fit_logistic(X[answerable_rows], y[answerable_rows], row_weight[answerable_rows])
    G = np.stack([group_features(f, selection.logits(f)) for f in train_set.features])
    GY = np.array([labels.any() for labels in train_set.labels])
    group_weight = np.where(article, article_weight, 1.0)
    answerability = (fit_network(G, GY, group_weight) if network
                     else fit_logistic(G, GY, group_weight, c=ANSWERABILITY_C))
    model = ScriptModel(selection, answerability)
    groups = {name: dev_groups(model, examples) for name, examples in dev.items() if examples.groups}
    pooled = [g for gs in groups.values() for g in gs]
    model = replace(model, temperature=fit_temperature([g for g in pooled if g.labels.any()]),
                    platt=fit_platt(pooled))
    refuse_below, keep_share = choose_thresholds(groups, model)
    model = replace(model, refuse_below=refuse_below, keep_share=keep_share)
    figures = {name: vars(outcome(gs, model, refuse_below, keep_share)) for name, gs in groups.items()}
    return model, figures


def train(train_set: Examples, dev: dict[str, Examples], article_weight: float) -> tuple[AnswerScorer, dict]:
    models, figures = {}, {}
    for script in SCRIPTS:
        models[script], figures[script] = train_script(
            train_set.only(script), {name: examples.only(script) for name, examples in dev.items()}, article_weight,
            ANSWERABILITY_NETWORK[script],
        )
    return AnswerScorer(models), {"dev": figures}


def perturbed(features: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """`features` with each non-integer value (cosines, shares; not counts or flags) multiplied by
    1 + N(0, noise)."""
    factor = 1 + rng.normal(0, noise, features.shape)
    return np.where(features == np.round(features), features, features * factor).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_SCORER, help="where to write the scorer")
    parser.add_argument("--article-weight", type=float, default=3.0,
                        help="weight of an article example against a reading-comprehension one")
    parser.add_argument("--reuse-examples", action="store_true",
                        help="reuse the examples of the previous run (cached) instead of rebuilding them")
    parser.add_argument("--perturb", type=float, default=0.0, metavar="NOISE",
                        help="multiply every non-integer feature by 1 + N(0, NOISE) before training (what "
                             "another machine's floating point does; README, \"Reproducible training\")")
    parser.add_argument("--perturb-seed", type=int, default=1, help="the noise's seed")
    args = parser.parse_args(argv)
    settings = Settings()
    cached = settings.storage.cache_dir / "scorer-examples.pkl"
    if args.reuse_examples and cached.is_file():
        train_set, dev = pickle.loads(cached.read_bytes())
    else:
        train_set, dev = build_examples(settings)
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps((train_set, dev)))
    if args.perturb:
        rng = np.random.default_rng(args.perturb_seed)
        for examples in (train_set, *dev.values()):
            examples.features = [perturbed(f, args.perturb, rng) for f in examples.features]
    scorer, meta = train(train_set, dev, args.article_weight)
    import sklearn

    meta.update({
        "trained": time.strftime("%Y-%m-%d"), "seed": SEED, "top_k": TOP_K, "article_weight": args.article_weight,
        "train_questions": len(train_set.groups), "sklearn": sklearn.__version__,
        "question_types": list(QUESTION_TYPES),
        "data": "data/mrc train splits (with questions_en.jsonl); train part of eval/questions.jsonl + eval/dev.jsonl",
    })
    scorer = replace(scorer, meta=meta)
    weights = json.dumps(scorer.to_json(), ensure_ascii=False, separators=(",", ":"))  # compact: ten networks
    args.out.write_text(weights + "\n", encoding="utf-8")
    print(f"Wrote {args.out}: {len(FEATURES)} candidate features, {len(GROUP_FEATURES)} question features")
    for script, model in scorer.models.items():
        print(f"{script}: refuse below {model.refuse_below}, keep sentences ≥ {model.keep_share} of the best")
        for name, figures in meta["dev"][script].items():
            print(f"  dev {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
