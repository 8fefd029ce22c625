"""Answering: a question and its history → a cited Answer, or an honest refusal."""
