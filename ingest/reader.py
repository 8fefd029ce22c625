"""Read documents from files and folders (read only, never written): .txt, .md, .pdf, .docx,
.html. In a folder, a file that cannot be read is skipped with one line saying why; a file
given alone that cannot be read stops with that line."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .files import atomic_target
from .formats import EXTRACTION_VERSION, READERS, Extracted, UnreadableFile, read_text_file
from .models import Document
from .structure import chunk_document

SUFFIXES = tuple(READERS)


class IngestError(Exception):
    """A document cannot be read; the message is meant for the user."""


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"跳过 {self.path}：{self.reason}"


def find_documents(path: Path) -> list[Path]:
    if not path.exists():
        raise IngestError(f"找不到文件或文件夹：{path}")
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise IngestError(f"不支持这种文件（支持 {' '.join(SUFFIXES)}）：{path}")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise IngestError(f"文件夹里没有可读的文件（{' '.join(SUFFIXES)}）：{path}")
    return files


def document_id(path: Path) -> str:
    return re.sub(r"[^\w.-]+", "-", path.stem).strip("-") or "doc"


class ExtractionCache:
    """The text extracted from PDF, Word and web files, kept under each file's sha256 (and
    the extractors' version): a start reads a folder of hundreds of PDFs without parsing them
    again. A cache that cannot be written only costs the time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def extract(self, path: Path) -> Extracted:
        reader = READERS[path.suffix.lower()]
        if reader is read_text_file:  # reading it is as cheap as reading the cache
            return reader(path)
        try:
            data = path.read_bytes()  # hashed, and on a miss parsed: the file is read once
        except OSError as e:
            raise UnreadableFile(f"无法读取：{e.strerror or e}") from None
        digest = hashlib.sha256(data).hexdigest()
        stored = self.directory / f"{digest}.v{EXTRACTION_VERSION}.json"
        try:
            fields = json.loads(stored.read_text(encoding="utf-8"))
            return Extracted(**dict(fields, pages=tuple(fields["pages"])))
        except (OSError, ValueError, TypeError, KeyError):
            pass
        extracted = reader(path, data=data)
        try:
            with atomic_target(stored) as temporary:
                temporary.write_text(json.dumps(asdict(extracted), ensure_ascii=False), encoding="utf-8")
        except OSError:
            pass
        return extracted


def read_document(path: Path, doc_id: str | None = None, cache: ExtractionCache | None = None) -> Document:
    try:
        extracted = cache.extract(path) if cache else READERS[path.suffix.lower()](path)
    except UnreadableFile as e:
        raise IngestError(f"{path}：{e}") from None
    except KeyError:
        raise IngestError(f"不支持这种文件（支持 {' '.join(SUFFIXES)}）：{path}") from None
    if not extracted.text.strip():
        raise IngestError(f"{path}：是空文件，没有可用的正文")
    doc_id = doc_id or document_id(path)
    title_line, chunks = chunk_document(doc_id, extracted.text, extracted.pages)
    if not chunks:
        raise IngestError(f"{path}：里面没有可用的正文")
    return Document(
        id=doc_id, title=extracted.title or title_line or path.stem, path=str(path), text=extracted.text,
        chunks=tuple(chunks), kind=extracted.kind, pages=extracted.pages,
    )


def read_documents(
    paths: list[Path], on_skip: Callable[[Skipped], None] | None = None, cache: ExtractionCache | None = None,
) -> list[Document]:
    """Each file becomes a document; ids are file stems, made unique when two collide. A file
    of a folder that cannot be read is passed to `on_skip` and left out; a file named alone
    that cannot be read, or nothing readable at all, raises IngestError."""
    docs, used = [], set()
    for path in paths:
        alone = path.is_file()
        for file in find_documents(path):
            doc_id, n = document_id(file), 1
            while doc_id in used:
                n += 1
                doc_id = f"{document_id(file)}-{n}"
            try:
                docs.append(read_document(file, doc_id, cache))
            except IngestError as e:
                if alone:
                    raise
                if on_skip:
                    on_skip(Skipped(file, str(e).removeprefix(f"{file}：")))
                continue
            used.add(doc_id)
    if not docs:
        raise IngestError(f"没有一份可读的文档：{', '.join(map(str, paths))}")
    return docs
