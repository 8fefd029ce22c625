"""When to refuse: the signals a question and its best passage give, and the calibrated
policy over them (README, "Refusals"). Kept apart so Settings can take its defaults from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeSignals:
    cosine: float  # best passage's cosine with the question
    foreign_words: tuple[str, ...]  # the question's nouns that the corpus never uses
    foreign_name: bool  # one of them is in Latin letters inside a Chinese question (GDP, CPI)
    unknown_year: bool  # the question names a year no document covers
    other_script: bool  # no Chinese in the question (e.g. English)


@dataclass(frozen=True)
class RefusalPolicy:
    """e5 cosines sit close together (out-of-scope questions reach 0.90), so one
    threshold cannot separate in- from out-of-scope questions. Signals, in order: a
    year no document covers; a name in Latin letters the corpus never uses (GDP); a
    noun the corpus never uses (房价, 区长), which only a very close passage
    overrides; then the cosine alone. Questions without
    Chinese match Chinese text at lower cosines, so they get their own bound."""

    refuse_below_dense: float = 0.82
    accept_foreign_above_dense: float = 0.90
    refuse_below_dense_other_script: float = 0.78

    def should_refuse(self, signals: ScopeSignals) -> bool:
        if signals.unknown_year or (signals.foreign_name and not signals.other_script):
            return True
        if signals.other_script:
            return signals.cosine < self.refuse_below_dense_other_script
        if signals.foreign_words:
            return signals.cosine < self.accept_foreign_above_dense
        return signals.cosine < self.refuse_below_dense
