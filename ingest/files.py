"""File helpers shared by every cache: extracted text, the converted model, the index, the LLM.

`atomic_target` is the one way a cache entry is written (a temporary path beside it, renamed
into place), and `write_manifest` / `read_manifest` the one way it is checked (the sha256 of
every file, recorded when written and compared when read)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks (model files are hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Yields a fresh path beside `target` for the caller to write, as a file or a folder.
    When the block succeeds it takes `target`'s place in one rename, so a crash never leaves
    a half-written target behind; when the block fails it is removed and `target` is kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        yield work
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)  # a rename cannot replace a folder that has files in it
        os.replace(work, target)
    finally:
        if work.is_dir():
            shutil.rmtree(work, ignore_errors=True)
        else:
            work.unlink(missing_ok=True)


class ManifestError(Exception):
    """The folder's manifest is missing or damaged, or a file differs from it; one line why."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing  # no manifest at all (never written, or written only in part)


def write_manifest(folder: Path, record: dict) -> dict:
    """Writes `record` with the sha256 of every file in `folder` (key "files") as its
    manifest, last, so a folder whose writing stopped early has none. Returns what it wrote."""
    files = {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST
    }
    manifest = {**record, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def read_manifest(folder: Path, verify: bool = True) -> dict:
    """The folder's manifest; with `verify`, every file it lists must be there, unchanged."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ManifestError("no manifest", missing=True)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest.get("files"), dict):
            raise KeyError("files")
    except (ValueError, KeyError, OSError, AttributeError):
        raise ManifestError("manifest is damaged") from None
    if verify:
        for name, digest in manifest["files"].items():
            file = folder / name
            if not file.is_file():
                raise ManifestError(f"file {name} is missing")
            if sha256_file(file) != digest:
                raise ManifestError(f"file {name} is truncated or corrupt")
    return manifest
