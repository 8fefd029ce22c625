"""What the chat page and the staff desk share, without Gradio: the engine (loaded once and
only read), the exchange log, the rate limit, and each browser session's conversation."""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from nanhai_qa.app.answering.engine import AnswerEngine, TokenCallback
from nanhai_qa.app.answering.models import Answer, Citation, Message, error_json, parse_history
from nanhai_qa.app.prompts import SIMPLIFIED, asker_script, render
from nanhai_qa.app.ratelimit import Limiter, RateLimiter
from nanhai_qa.app.storage.exchange_log import Exchange, ExchangeLog
from nanhai_qa.ingest import Document


class AnswerFailed(Exception):
    """The answer could not be computed (the engine raised); the page shows a retry message."""


@dataclass
class Conversation:
    """One browser session's conversation: the raw turns (never the rendered HTML), the
    exchange id of each answer (for 👍/👎), and every citation so far (for the source view)."""

    history: list[Message] = field(default_factory=list)
    exchange_of_message: dict[int, int] = field(default_factory=dict)
    cited: list[tuple[int, Citation]] = field(default_factory=list)

    def add(self, answer: Answer, exchange: int, message_index: int) -> None:
        if not answer.error:
            self.history += [Message(role="user", content=answer.question),
                             Message(role="assistant", content=answer.answer)]
        self.exchange_of_message[message_index] = exchange
        self.cited += [(exchange, c) for c in answer.citations]

    def latest_document(self) -> str | None:
        """The document the latest answer with citations cites first."""
        if not self.cited:
            return None
        latest_exchange = self.cited[-1][0]
        return next(c.doc for exchange, c in self.cited if exchange == latest_exchange)


class ChatService:
    """Shared by all sessions. With a generative backend configured, residents can switch
    between it and the extractive answers, per answer."""

    def __init__(
        self, engine: AnswerEngine, log: ExchangeLog, limiter: Limiter | None = None,
        login_limiter: Limiter | None = None,
    ) -> None:
        self.engine = engine
        self.log = log
        self.limiter = limiter or RateLimiter(0, 1)  # questions per client
        self.login_limiter = login_limiter  # staff login attempts per client (None: the desk's own)
        self.generative = engine.generator is not engine.extractive
        corpus = engine.retriever.corpus
        self.catalog: dict[str, Document] = corpus.documents
        self.documents = {doc.id: doc.text for doc in corpus.documents.values()}
        self.sources = dict(corpus.manifest["sources"])
        log.remember_sources(self.sources, self.documents)

    def texts_of(self, exchange: Exchange) -> dict[str, str]:
        """The source texts `exchange` was answered from (today's where unknown)."""
        return {**self.documents, **self.log.source_texts(exchange)}

    def too_fast(self, client: str, question: object = "") -> str | None:
        """The message for a client over its rate limit, else None. Such requests are not logged."""
        wait = self.limiter.wait_seconds(client)
        if not wait:
            return None
        script = asker_script(question) if isinstance(question, str) else SIMPLIFIED
        return render("error_rate_limited", script, seconds=math.ceil(wait))

    def answer(
        self, question: object, history: list[Message], generative: bool = True,
        on_token: TokenCallback | None = None,
    ) -> tuple[Answer, int]:
        """The answer and its exchange id in the log; `generative=False` asks for the
        extractive answer even when a generative backend is configured."""
        generator = None if generative else self.engine.extractive
        answer = self.engine.answer(question, history, on_token=on_token, generator=generator)
        return answer, self.log.record(answer, len(history), self.sources)

    def answer_stream(
        self, question: str, history: list[Message], generative: bool,
    ) -> Iterator[str | tuple[Answer, int]]:
        """Yields generated text as it arrives, then (answer, exchange id) once verified."""
        pieces: queue.Queue[str | None] = queue.Queue()
        result: list[tuple[Answer, int]] = []

        def work() -> None:
            try:
                result.append(self.answer(question, history, generative, on_token=pieces.put))
            finally:
                pieces.put(None)

        threading.Thread(target=work, daemon=True).start()
        while (piece := pieces.get()) is not None:
            yield piece
        if not result:
            raise AnswerFailed
        yield result[0]

    def ask_json(self, question: object, history: object, client: str) -> dict:
        """The same JSON as `nanhai-qa ask --json` with the exchange's id in the log (`exchange`),
        or an error object for bad input."""
        if message := self.too_fast(client, question):
            return error_json(message)
        try:
            messages = parse_history(history)
        except ValueError as e:
            return error_json(str(e))
        answer, exchange = self.answer(question, messages)
        return {**answer.to_json(), "exchange": exchange}

    def set_feedback(self, conversation: Conversation, message_index: int, liked: bool | None) -> None:
        exchange = conversation.exchange_of_message.get(message_index)
        if exchange is not None:
            self.log.set_feedback(exchange, liked)

    def shown_document(self, conversation: Conversation) -> Document:
        """The source view's document: the one the latest answer cites (the first before any)."""
        doc = conversation.latest_document()
        return self.catalog[doc] if doc else next(iter(self.catalog.values()))

