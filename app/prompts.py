"""Loads the user-facing wordings kept as text files in prompts/."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def prompt(name: str) -> str:
    return resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8").strip("\n")


def render(name: str, **values: object) -> str:
    return prompt(name).format(**values)
