"""The article's eval sets (SCHEMAS.md format), each named once, with what it is for
(README, "Evaluation")."""

from __future__ import annotations

from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
# Written with the project; pooled with DEV_SET and split by paragraph (scorer_data.article_split)
EVAL_SET = EVAL_DIR / "questions.jsonl"
DEV_SET = EVAL_DIR / "dev.jsonl"
# Written for training only
TRAIN_SET = EVAL_DIR / "train.jsonl"
# Written from the article alone: reported, never trained or tuned on
HELDOUT = EVAL_DIR / "heldout.jsonl"
HELDOUT_SECOND = EVAL_DIR / "heldout2.jsonl"
HELDOUT_THIRD = EVAL_DIR / "heldout3.jsonl"  # written blind at the thirty-third round
# Follow-ups written blind; split by paragraph, only the test part reported
FOLLOWUPS = EVAL_DIR / "followups.jsonl"
# Topics the article never mentions: the dev part chose how rare a missing word must be to be
# named (topic_words.py), the test part measures it
UNCOVERED_TOPICS = EVAL_DIR / "uncovered_topics.jsonl"
