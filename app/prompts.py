"""Loads the user-facing wordings kept as text files in prompts/, in the asker's script:
Simplified Chinese (prompts/NAME.txt), Traditional (the same, converted by OpenCC) or English
(prompts/en/NAME.txt, where a wording has an English version)."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import resources

from nanhai_qa.index import to_simplified
from nanhai_qa.ingest.patterns import HAN_CHAR

SIMPLIFIED, TRADITIONAL, ENGLISH = "zh-Hans", "zh-Hant", "en"
LATIN = re.compile(r"[A-Za-z]")


def asker_script(text: str) -> str:
    """The script a question is written in: Traditional when its Chinese characters change
    under Traditional→Simplified conversion, English when it has Latin letters and no Chinese,
    otherwise Simplified."""
    if HAN_CHAR.search(text):
        return TRADITIONAL if to_simplified(text) != text else SIMPLIFIED
    return ENGLISH if LATIN.search(text) else SIMPLIFIED


def _file(name: str, script: str):
    folder = resources.files("nanhai_qa.prompts")
    if script == ENGLISH and folder.joinpath("en", f"{name}.txt").is_file():
        return folder.joinpath("en", f"{name}.txt")
    return folder.joinpath(f"{name}.txt")


@cache
def prompt(name: str, script: str = SIMPLIFIED) -> str:
    """The text of the wording NAME in `script`, without its "# version: N" header line."""
    text = _file(name, script).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("# version:")]
    text = "\n".join(lines).strip("\n")
    return to_traditional(text) if script == TRADITIONAL else text


@cache
def prompt_version(name: str) -> str:
    first = _file(name, SIMPLIFIED).read_text(encoding="utf-8").splitlines()[0]
    return first.removeprefix("# version:").strip() if first.startswith("# version:") else "0"


def render(name: str, script: str = SIMPLIFIED, **values: object) -> str:
    return prompt(name, script).format(**values)


@cache
def _labels() -> dict[str, str]:
    """prompts/ui_labels.txt: one `key = wording` per line ("#" lines are comments)."""
    text = resources.files("nanhai_qa.prompts").joinpath("ui_labels.txt").read_text(encoding="utf-8")
    pairs = (line.split(" = ", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): wording for key, wording in pairs}


def label(key: str, **values: object) -> str:
    """A label of the chat page or the staff desk (prompts/ui_labels.txt), with `values` filled in."""
    return _labels()[key].format(**values)


@cache
def _converter():
    import opencc

    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    return _converter().convert(text)


@cache
def prompts_version() -> str:
    """A short hash of every wording file, recorded with each exchange and eval report."""
    folder = resources.files("nanhai_qa.prompts")
    files = sorted(
        (f"{sub}/{item.name}" if sub else item.name, item)
        for sub, parent in (("", folder), ("en", folder / "en"))
        for item in parent.iterdir() if item.name.endswith(".txt")
    )
    digest = hashlib.sha256()
    for name, item in files:
        digest.update(name.encode() + b"\0" + item.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
