"""Loads the user-facing wordings kept as text files in prompts/."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def prompt(name: str) -> str:
    """The text of prompts/NAME.txt, without its "# version: N" header line."""
    text = resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("# version:")]
    return "\n".join(lines).strip("\n")


@cache
def prompt_version(name: str) -> str:
    first = resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8").splitlines()[0]
    return first.removeprefix("# version:").strip() if first.startswith("# version:") else "0"


def render(name: str, **values: object) -> str:
    return prompt(name).format(**values)
