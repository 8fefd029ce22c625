"""The corpus profile: everything the app knows about one particular corpus, kept in a data
file that a deployment can replace (README, "The corpus profile"). Without one the engine
works on any corpus: no relative years, no query expansion, generic page wording."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nanhai_qa.ingest.patterns import YEAR


class ProfileError(Exception):
    """The profile file cannot be used; the message says why in one line."""


class Synonyms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    everyday: list[str] = Field(min_length=1, description="words residents use")
    corpus: list[str] = Field(min_length=1, description="the corpus's own words for the same thing")


class CorpusProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field("", description="the chat page's title; empty: the generic one (prompts/page_title.txt)")
    intro: str = Field("", description="Markdown under the title; empty: the generic one (prompts/page_intro.txt)")
    examples: list[str] = Field(default_factory=list, description="example questions shown on the chat page")
    warm_up: str = Field("", description="a question answered once at start so the first resident waits less")
    relative_years: dict[str, list[str]] = Field(
        default_factory=dict,
        description='the year words stand for in this corpus, e.g. {"2000": ["今年", "this year"], "1999": ["去年"]}',
    )
    setting_words: list[str] = Field(
        default_factory=list,
        description="names of the setting itself (the district, the city): they frame a question, not its topic, "
        "and are not searched as words",
    )
    thesaurus: list[Synonyms] = Field(
        default_factory=list,
        description="everyday words and the corpus's own words for them, added to a question that uses them",
    )

    @field_validator("relative_years")
    @classmethod
    def _years(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = [year for year in value if not YEAR.fullmatch(year)]
        if bad:
            raise ValueError(f"relative_years keys must be years like 1999, not {bad}")
        return value

    def expansions(self) -> dict[str, str]:
        """Each everyday word → the corpus words it stands for, space-separated (for retrieval)."""
        return {word: " ".join(group.corpus) for group in self.thesaurus for word in group.everyday}

    def own_words(self) -> list[str]:
        """The words a question may use for the corpus's own things though no document holds
        them: the thesaurus's everyday words, the setting's names, the relative-year words."""
        return [*self.expansions(), *self.setting_words, *(w for ws in self.relative_years.values() for w in ws)]


def load_profile(path: Path | None) -> CorpusProfile:
    """The profile in `path` (JSON), or the empty profile for None."""
    if path is None:
        return CorpusProfile()
    try:
        return CorpusProfile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except OSError as e:
        raise ProfileError(f"cannot read the corpus profile {path}: {e.strerror or e}") from None
    except ValueError as e:
        if isinstance(e, ValidationError):
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the file"
            raise ProfileError(f"the corpus profile {path} is not valid: {where}: {first['msg']}") from None
        raise ProfileError(f"the corpus profile {path} is not valid JSON: {e}") from None
