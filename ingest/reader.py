"""Read .txt and .md documents from a file or a folder (read only, never written)."""

from __future__ import annotations

import re
from pathlib import Path

from .models import Document
from .structure import chunk_document

SUFFIXES = (".txt", ".md")


class IngestError(Exception):
    """A document cannot be read; the message is meant for the user."""


def find_documents(path: Path) -> list[Path]:
    if not path.exists():
        raise IngestError(f"找不到文件或文件夹：{path}")
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise IngestError(f"只支持 .txt 和 .md 文件：{path}")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise IngestError(f"文件夹里没有 .txt 或 .md 文件：{path}")
    return files


def document_id(path: Path) -> str:
    return re.sub(r"[^\w.-]+", "-", path.stem).strip("-") or "doc"


def read_document(path: Path, doc_id: str | None = None) -> Document:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise IngestError(f"{path} 不是有效的 UTF-8 文本（第 {e.start} 字节附近）：请另存为 UTF-8 后再试。") from e
    except OSError as e:
        raise IngestError(f"无法读取 {path}：{e.strerror}") from e
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise IngestError(f"{path} 含有 NUL 字符，看起来不是文本文件。")
    doc_id = doc_id or document_id(path)
    title, chunks = chunk_document(doc_id, text)
    if not chunks:
        raise IngestError(f"{path} 里没有可用的正文。")
    return Document(id=doc_id, title=title, path=str(path), text=text, chunks=tuple(chunks))


def read_documents(paths: list[Path]) -> list[Document]:
    """Each file becomes a document; ids are file stems, made unique when two collide."""
    docs, used = [], set()
    for path in paths:
        for file in find_documents(path):
            doc_id, n = document_id(file), 1
            while doc_id in used:
                n += 1
                doc_id = f"{document_id(file)}-{n}"
            used.add(doc_id)
            docs.append(read_document(file, doc_id))
    return docs
