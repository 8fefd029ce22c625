"""The Gradio app: residents' chat with cited answers, and the staff citation desk."""

from __future__ import annotations

import html
import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import gradio as gr

from .engine import AnswerEngine
from .exchange_log import Exchange, ExchangeLog
from .extractive import ExtractiveGenerator
from .models import Answer, Citation, Message, error_json, parse_history
from .prompts import SIMPLIFIED, asker_script, prompt, render
from .ratelimit import RateLimiter, client_address
from .render import CLICK_SCRIPT, CSS, answer_html, article_html, documents_html, sources_html
from .settings import Settings
from .staff import build_staff_tab

EMPTY_SOURCES = '<div class="sources-empty">回答引用的原文会显示在这里。</div>'


@dataclass
class Conversation:
    """One browser session's conversation: the raw turns (never the rendered HTML), the
    exchange id of each answer (for 👍/👎), and every citation so far (for the article view)."""

    history: list[Message] = field(default_factory=list)
    exchange_of_message: dict[int, int] = field(default_factory=dict)
    cited: list[tuple[int, Citation]] = field(default_factory=list)


MODE_EXTRACTIVE, MODE_GENERATIVE = "原文摘录", "生成式（逐句核实）"


class ChatService:
    """Shared by all sessions: the engine is loaded once and only read. With a generative
    backend configured, residents can switch between it and the extractive answers."""

    def __init__(self, engine: AnswerEngine, log: ExchangeLog, limiter: RateLimiter | None = None) -> None:
        self.engine = engine
        self.log = log
        self.limiter = limiter or RateLimiter(0, 1)
        self.generative = engine.generator.name != "extractive"
        self.extractive = ExtractiveGenerator(engine.selection)
        corpus = engine.retriever.corpus
        self.documents = {doc.id: doc.text for doc in corpus.documents.values()}
        self.catalog = corpus.documents
        self.sources = dict(corpus.manifest["sources"])
        log.remember_sources(self.sources, self.documents)

    def texts_of(self, exchange: Exchange) -> dict[str, str]:
        """The source texts `exchange` was answered from (today's where unknown)."""
        return {**self.documents, **self.log.source_texts(exchange)}

    def too_fast(self, request: gr.Request | None, question: object = "") -> str | None:
        """The message for a client over its rate limit, else None. Such requests are not logged."""
        wait = self.limiter.wait_seconds(client_address(request))
        if not wait:
            return None
        script = asker_script(question) if isinstance(question, str) else SIMPLIFIED
        return render("error_rate_limited", script, seconds=math.ceil(wait))

    def answer(
        self, question: str, history: list[Message], generative: bool = True, on_token=None
    ) -> tuple[Answer, int]:
        generator = None if generative else self.extractive
        answer = self.engine.answer(question, history, on_token=on_token, generator=generator)
        return answer, self.log.record(answer, len(history), self.sources)

    def answer_stream(self, question: str, history: list[Message], generative: bool) -> Iterator[str | tuple]:
        """Yields generated text as it arrives, then (answer, exchange id) once verified."""
        pieces: queue.Queue = queue.Queue()
        result: list = []

        def work() -> None:
            try:
                result.append(self.answer(question, history, generative, on_token=pieces.put))
            finally:
                pieces.put(None)

        threading.Thread(target=work, daemon=True).start()
        while (piece := pieces.get()) is not None:
            yield piece
        if not result:
            raise gr.Error("回答失败，请再试一次。")
        yield result[0]

    def ask_api(self, question: str, history: list[dict] | None = None, request: gr.Request = None) -> dict:
        """ask(question, history) → the same JSON as `nanhai-qa ask --json`."""
        if message := self.too_fast(request, question):
            return error_json(message)
        try:
            messages = parse_history(history)
        except ValueError as e:
            return error_json(str(e))
        answer, _ = self.answer(question, messages)
        return answer.to_json()

    def article(self, conversation: Conversation) -> str:
        """The source view: the document the latest answer cites first (the first document
        before anything is cited), with the conversation's cited spans marked."""
        cited = conversation.cited
        latest = [c for exchange, c in cited if exchange == cited[-1][0]] if cited else []
        document = self.catalog[latest[0].doc] if latest else next(iter(self.catalog.values()))
        return article_html(document, conversation.cited)


def build_app(service: ChatService, settings: Settings) -> gr.Blocks:
    profile = service.engine.profile
    with gr.Blocks(title=profile.title or prompt("page_title")) as app:
        gr.Markdown(profile.intro or prompt("page_intro"))
        conversation = gr.State(Conversation())  # copied for each session
        with gr.Tab("问答"), gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label="对话", height=520, buttons=["copy"], feedback_options=("Like", "Dislike"),
                    sanitize_html=True, line_breaks=True, elem_id="chat",
                )
                with gr.Row():
                    placeholder = (render("question_placeholder", example=profile.examples[0]) if profile.examples
                                   else prompt("question_placeholder_plain"))
                    question = gr.Textbox(placeholder=placeholder, show_label=False, scale=5, elem_id="question",
                                          max_lines=4)
                    send = gr.Button("提问", variant="primary", scale=1, elem_id="send")
                if profile.examples:
                    gr.Examples(profile.examples, inputs=question, label="可以这样问")
                mode = gr.Radio([MODE_EXTRACTIVE, MODE_GENERATIVE], value=MODE_GENERATIVE, label="回答方式",
                                visible=service.generative, elem_id="answer-mode")
                new_chat = gr.Button("新对话", elem_id="new-chat")
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(EMPTY_SOURCES, label="来源", elem_id="sources")
                with gr.Accordion(f"资料清单（{len(service.catalog)} 份）", open=False):
                    gr.HTML(documents_html(list(service.catalog.values())), elem_id="documents")
                with gr.Accordion("原文", open=True):
                    article = gr.HTML(service.article(Conversation()), elem_id="article", elem_classes="article-view")

        def respond(
            text: str, chat: list, state: Conversation, answer_mode: str, request: gr.Request
        ) -> Iterator[tuple]:
            chat = list(chat or [])
            chat.append({"role": "user", "content": html.escape(text or "")})  # shown as text, never as HTML
            if message := service.too_fast(request, text):
                chat.append({"role": "assistant", "content": html.escape(message)})
                yield text, chat, state, gr.skip(), gr.skip()  # the question stays, to send again
                return
            chat.append({"role": "assistant", "content": "……"})
            yield "", chat, state, gr.skip(), gr.skip()
            generated = ""
            for item in service.answer_stream(text, state.history, answer_mode == MODE_GENERATIVE):
                if isinstance(item, str):  # unverified text as it is generated, shown as such
                    generated += item
                    chat[-1] = {"role": "assistant", "content": "（生成中，核实后显示）" + html.escape(generated)}
                    yield "", chat, state, gr.skip(), gr.skip()
                else:
                    answer, exchange = item
            rendered = answer_html(answer, exchange)
            lines = rendered.split("\n")
            for count in range(1, len(lines) + 1):  # stream the answer in, line by line
                chat[-1] = {"role": "assistant", "content": "\n".join(lines[:count])}
                yield "", chat, state, gr.skip(), gr.skip()
            if not answer.error:
                state.history += [Message(role="user", content=answer.question),
                                  Message(role="assistant", content=answer.answer)]
            state.exchange_of_message[len(chat) - 1] = exchange
            state.cited += [(exchange, c) for c in answer.citations]
            yield "", chat, state, sources_html(answer, exchange, service.documents), service.article(state)

        outputs = [question, chatbot, conversation, sources, article]
        for trigger in (send.click, question.submit):
            trigger(respond, [question, chatbot, conversation, mode], outputs, api_visibility="private")

        def feedback(state: Conversation, data: gr.LikeData) -> None:
            exchange = state.exchange_of_message.get(data.index if isinstance(data.index, int) else data.index[0])
            if exchange is not None:
                service.log.set_feedback(exchange, data.liked is True if isinstance(data.liked, bool) else None)

        chatbot.like(feedback, [conversation], None, api_visibility="private")

        def reset() -> tuple:
            fresh = Conversation()
            return [], fresh, EMPTY_SOURCES, service.article(fresh), ""

        new_chat.click(reset, None, [chatbot, conversation, sources, article, question], api_visibility="private")

        if settings.staff_enabled():
            build_staff_tab(service, settings)

        gr.api(service.ask_api, api_name="ask")
    app.queue(default_concurrency_limit=settings.concurrency_limit)
    return app


def launch(app: gr.Blocks, settings: Settings, block: bool = True) -> None:
    app.launch(
        server_name=settings.host, server_port=settings.port, head=CLICK_SCRIPT, css=CSS,
        prevent_thread_lock=not block, show_error=False, footer_links=["api"], quiet=False,
    )
