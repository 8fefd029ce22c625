"""`make bench-answers`: how well the answer layer generalises, on data it was not trained or
tuned on. Prints figures; asserts nothing.

- Public reading-comprehension data, multi-document: the test split of CMRC 2018 (Simplified)
  and of DRCD (Traditional), each as its own corpus of paragraphs; the questions of the
  left-out quarter of its paragraphs are the unanswerable ones (eval/mrc.py).
- The article: eval/heldout.jsonl (written before any result was seen; never trained or tuned
  on), eval/heldout2.jsonl and eval/heldout3.jsonl (written much later the same way, each by an
  author who read only the article and the data contract), the test part of the article's labelled questions (split by
  paragraph), and the whole of eval/questions.jsonl, part of which was trained on (shown for
  comparison only); eval/followups.jsonl, follow-ups written blind (its test part, split by
  paragraph as the labelled questions: the train and dev parts chose how follow-ups are read);
  and eval/uncovered_topics.jsonl, questions about topics it never mentions (its test part).
- How often answers name question words the corpus never uses (app/answering/topic_words.py):
  among right answers, and among answers to unanswerable questions.
- Speed: latency per answer with everything loaded, and cold start (a new process until its
  first answer, caches present).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from nanhai_qa.app.answering.engine import AnswerEngine, build_engine, engine_for
from nanhai_qa.app.profile import CorpusProfile
from nanhai_qa.app.settings import Settings
from nanhai_qa.index import load_embedder

from .metrics import figures, load_items, normalise, percentile
from .mrc import DATASETS, MrcQuestion, corpus, english_questions, in_english
from .runner import run
from .scorer_data import article_split, retriever_for
from .sets import EVAL_SET, FOLLOWUPS, HELDOUT, HELDOUT_SECOND, HELDOUT_THIRD, UNCOVERED_TOPICS
from .train_scorer import ARTICLE_SETS

COLD_START = (
    "import time; t = time.perf_counter();"
    "from nanhai_qa.app.answering.engine import build_engine; from nanhai_qa.app.settings import Settings;"
    "e = build_engine(Settings(), log=lambda m: None); e.answer('2022年新增了多少学位？');"
    "print(time.perf_counter() - t)"
)


@dataclass(frozen=True)
class Row:
    name: str
    items: int
    accuracy: float | None  # None: the set has no answerable question
    false_refusals: float | None
    refusal_recall: float | None
    cited_chars: float
    verbatim: float
    p50_ms: float
    p95_ms: float
    calibration_error: float | None = None
    # Of the right answers, and of the answers given to unanswerable questions, the share that
    # name question words the corpus never uses (topic_words.py): how often the note is
    # noise, and how often it warns of an answer that is not one
    named_right: float | None = None
    named_unanswerable: float | None = None


def shares_named(right: list[bool], answered_unanswerable: list[bool]) -> tuple[float | None, float | None]:
    """The share of each list (whether each answer named a missing word) that is True."""
    return (sum(right) / len(right) if right else None,
            sum(answered_unanswerable) / len(answered_unanswerable) if answered_unanswerable else None)


def expected_calibration_error(probabilities: list[float], outcomes: list[bool], bins: int = 10) -> float:
    """Mean |stated probability − observed frequency| over equal-width bins, weighted by size."""
    p, y = np.asarray(probabilities), np.asarray(outcomes, dtype=float)
    edges = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[edges == b].mean() - y[edges == b].mean()) * (edges == b).sum()
                     for b in range(bins) if (edges == b).any()) / len(p))


def mrc_row(engine: AnswerEngine, name: str, answerable: list[MrcQuestion], unanswerable: list[MrcQuestion],
            progress: bool) -> Row:
    texts = {d.id: d.text for d in engine.retriever.corpus.documents.values()}
    right, refused_answerable, refused_other, chars, answered, verbatim, quotes = 0, 0, 0, 0, 0, 0, 0
    latencies, stated, happened = [], [], []
    named_right, named_unanswerable = [], []
    asked = [(q, True) for q in answerable] + [(q, False) for q in unanswerable]
    for q, can in tqdm(asked, desc=name, unit="q", file=sys.stderr, disable=not progress):
        answer = engine.answer(q.question)
        latencies.append(answer.latency_ms)
        if answer.answerable is not None:
            stated.append(answer.answerable)
            happened.append(can)
        quotes += len(answer.citations)
        verbatim += sum(texts[c.doc][c.start : c.end] == c.quote for c in answer.citations)
        if can:
            refused_answerable += answer.refused
            is_right = not answer.refused and any(normalise(a) in normalise(answer.answer) for a in q.answers)
            right += is_right
            if is_right:
                named_right.append(bool(answer.unmentioned))
        else:
            refused_other += answer.refused
            if not answer.refused:
                named_unanswerable.append(bool(answer.unmentioned))
        if not answer.refused:
            answered += 1
            chars += sum(len(c.quote) for c in answer.citations)
    return Row(
        name, len(asked), right / len(answerable), refused_answerable / len(answerable),
        refused_other / len(unanswerable), chars / max(1, answered), verbatim / max(1, quotes),
        statistics.median(latencies), percentile(latencies, 0.95), expected_calibration_error(stated, happened),
        *shares_named(named_right, named_unanswerable),
    )


def article_row(engine: AnswerEngine, name: str, items: list[dict], progress: bool) -> Row:
    results = run(engine, items, progress, label=name)
    f = figures(results)
    answered = [r for r in results if not r.refused]
    chars = sum(len(c["quote"]) for r in answered for c in r.output["citations"]) / max(1, len(answered))
    named = shares_named([bool(r.output.get("unmentioned")) for r in results if r.item["answerable"] and r.correct],
                         [bool(r.output.get("unmentioned")) for r in answered if not r.item["answerable"]])
    return Row(name, len(items), f["answer_accuracy"], f["false_refusal_rate"], f["refusal_recall"], chars,
               f["verbatim_rate"] or 1.0, f["latency_p50_ms"], f["latency_p95_ms"], None, *named)


def cold_start(runs: int = 3) -> list[float]:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def table(rows: list[Row]) -> str:
    lines = [
        "| set | items | answer accuracy | false refusals | refusal recall | cited chars / answer | verbatim "
        "| p50 / p95 ms | calibration error |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.items} | {_share(r.accuracy)} | {_share(r.false_refusals)} | "
            f"{_share(r.refusal_recall)} | {r.cited_chars:.0f} | {r.verbatim:.3f} | {r.p50_ms:.0f} / {r.p95_ms:.0f} | "
            f"{_share(r.calibration_error)} |"
        )
    return "\n".join(lines)


def _share(value: float | None) -> str:
    """A figure to three places; – where the set has nothing to count (no answerable question)."""
    return "–" if value is None else f"{value:.3f}"


def named_table(rows: list[Row]) -> str:
    lines = [
        "| set | right answers naming a missing word | answers to unanswerable questions naming one |",
        "|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.name} | {_share(r.named_right)} | {_share(r.named_unanswerable)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=["dev", "test"],
                        help="which split of the public data and the article's questions (dev: while tuning)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--no-cold-start", action="store_true")
    args = parser.parse_args(argv)
    progress = not args.no_progress
    settings = Settings()
    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    rows = []
    embedder = load_embedder(settings.retrieval.embedding_model, settings.storage.cache_dir, log=log)
    english = english_questions()
    for dataset in DATASETS:
        split = corpus(dataset, args.split)
        cache = settings.storage.cache_dir / "mrc" / f"{dataset}-{args.split}"
        engine = engine_for(retriever_for(split.documents, embedder, cache, log), settings, CorpusProfile(), log)
        engine.warm_up()
        name = f"{dataset} {args.split} ({len(split.documents)} paragraphs)"
        rows.append(mrc_row(engine, name, split.answerable, split.unanswerable, progress))
        rows.append(mrc_row(engine, f"{name}, questions in English", in_english(split.answerable, english),
                            in_english(split.unanswerable, english), progress))
    engine = build_engine(settings, log=log)
    document = next(iter(engine.retriever.corpus.documents.values()))
    pooled = [i for path in ARTICLE_SETS for i in load_items(path)]
    if args.split == "test":
        rows.append(article_row(engine, "article: held-out", load_items(HELDOUT), progress))
        rows.append(article_row(engine, "article: second held-out set", load_items(HELDOUT_SECOND), progress))
        rows.append(article_row(engine, "article: third held-out set", load_items(HELDOUT_THIRD), progress))
    rows.append(article_row(engine, f"article: {args.split} part of the labelled questions",
                            [i for i in pooled if article_split(i, document) == args.split], progress))
    rows.append(article_row(engine, "article: eval/questions.jsonl (part trained on)", load_items(EVAL_SET), progress))
    rows.append(article_row(engine, f"article: follow-ups ({args.split} part)",
                            [i for i in load_items(FOLLOWUPS) if article_split(i, document) == args.split], progress))
    rows.append(article_row(engine, f"article: topics it never mentions ({args.split} part)",
                            [i for i in load_items(UNCOVERED_TOPICS) if i["split"] == args.split], progress))
    print(table(rows))
    print("\nQuestion words the corpus never uses, named in the answer (app/answering/topic_words.py):\n")
    print(named_table(rows))
    latencies = [r.p50_ms for r in rows]
    print(f"\nlatency per answer, models loaded: p50 {statistics.median(latencies):.0f} ms (median of the sets' "
          f"medians), p95 up to {max(r.p95_ms for r in rows):.0f} ms")
    if not args.no_cold_start:
        times = cold_start()
        print(f"cold start (new process to first answer, caches present): {min(times):.2f} s best, "
              f"{max(times):.2f} s worst")
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    sys.exit(code)
