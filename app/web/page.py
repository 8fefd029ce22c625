"""The Gradio app: residents' chat with cited answers, and the staff citation desk."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Annotated

import gradio as gr
from fastapi import Body, Request
from fastapi.routing import APIRoute

from nanhai_qa.app.prompts import label, prompt, render
from nanhai_qa.app.ratelimit import client_address
from nanhai_qa.app.service import AnswerFailed, ChatService, Conversation
from nanhai_qa.app.settings import Settings
from nanhai_qa.app.staff.desk import build_staff_tab

from .render import CLICK_SCRIPT, CSS, answer_html, article_html, documents_html, sources_html


def source_view(service: ChatService, conversation: Conversation) -> str:
    """The source view: the document the latest answer cites, with the conversation's cited spans marked."""
    return article_html(service.shown_document(conversation), conversation.cited)


def build_app(service: ChatService, settings: Settings) -> gr.Blocks:
    profile = service.engine.profile
    empty_sources = f'<div class="sources-empty">{html.escape(label("sources_empty"))}</div>'
    extractive, generative = label("mode_extractive"), label("mode_generative")
    with gr.Blocks(title=profile.title or prompt("page_title")) as app:
        gr.Markdown(profile.intro or prompt("page_intro"))
        conversation = gr.State(Conversation())  # copied for each session
        with gr.Tab(label("tab_chat")), gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label=label("chat"), height=520, buttons=["copy"], feedback_options=("Like", "Dislike"),
                    sanitize_html=True, line_breaks=True, elem_id="chat",
                )
                with gr.Row():
                    placeholder = (render("question_placeholder", example=profile.examples[0]) if profile.examples
                                   else prompt("question_placeholder_plain"))
                    question = gr.Textbox(placeholder=placeholder, show_label=False, scale=5, elem_id="question",
                                          max_lines=4)
                    send = gr.Button(label("ask"), variant="primary", scale=1, elem_id="send")
                if profile.examples:
                    gr.Examples(profile.examples, inputs=question, label=label("examples"))
                mode = gr.Radio([extractive, generative], value=generative, label=label("answer_mode"),
                                visible=service.generative, elem_id="answer-mode")
                new_chat = gr.Button(label("new_chat"), elem_id="new-chat")
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(empty_sources, label=label("sources"), elem_id="sources")
                with gr.Accordion(label("documents", count=len(service.catalog)), open=False):
                    gr.HTML(documents_html(list(service.catalog.values())), elem_id="documents")
                with gr.Accordion(label("source_text"), open=True):
                    article = gr.HTML(source_view(service, Conversation()), elem_id="article",
                                      elem_classes="article-view")

        def respond(
            text: str, chat: list, state: Conversation, answer_mode: str, request: gr.Request
        ) -> Iterator[tuple]:
            chat = list(chat or [])
            chat.append({"role": "user", "content": html.escape(text or "")})  # shown as text, never as HTML
            if message := service.too_fast(client_address(request), text):
                chat.append({"role": "assistant", "content": html.escape(message)})
                yield text, chat, state, gr.skip(), gr.skip()  # the question stays, to send again
                return
            chat.append({"role": "assistant", "content": "……"})
            yield "", chat, state, gr.skip(), gr.skip()
            generated = ""
            try:
                for item in service.answer_stream(text, state.history, answer_mode == generative):
                    if isinstance(item, str):  # unverified text as it is generated, shown as such
                        generated += item
                        chat[-1] = {"role": "assistant", "content": html.escape(label("generating") + generated)}
                        yield "", chat, state, gr.skip(), gr.skip()
                    else:
                        answer, exchange = item
            except AnswerFailed:
                raise gr.Error(label("answer_failed")) from None
            rendered = answer_html(answer, exchange)
            lines = rendered.split("\n")
            for count in range(1, len(lines) + 1):  # stream the answer in, line by line
                chat[-1] = {"role": "assistant", "content": "\n".join(lines[:count])}
                yield "", chat, state, gr.skip(), gr.skip()
            state.add(answer, exchange, len(chat) - 1)
            yield "", chat, state, sources_html(answer, exchange, service.documents), source_view(service, state)

        outputs = [question, chatbot, conversation, sources, article]
        for trigger in (send.click, question.submit):
            trigger(respond, [question, chatbot, conversation, mode], outputs, api_visibility="private")

        def feedback(state: Conversation, data: gr.LikeData) -> None:
            index = data.index if isinstance(data.index, int) else data.index[0]
            service.set_feedback(state, index, data.liked if isinstance(data.liked, bool) else None)

        chatbot.like(feedback, [conversation], None, api_visibility="private")

        def reset() -> tuple:
            fresh = Conversation()
            return [], fresh, empty_sources, source_view(service, fresh), ""

        new_chat.click(reset, None, [chatbot, conversation, sources, article, question], api_visibility="private")

        if settings.staff.enabled():
            build_staff_tab(service, settings.staff, settings.storage.data_dir / "exports")

        def ask(question: str, history: list[dict] | None = None, request: gr.Request = None) -> dict:
            """ask(question, history) → the same JSON as `nanhai-qa ask --json`."""
            return service.ask_json(question, history, client_address(request))

        gr.api(ask, api_name="ask")
    app.queue(default_concurrency_limit=settings.server.concurrency_limit)
    return app


def launch(app: gr.Blocks, service: ChatService, settings: Settings) -> None:
    """Serves the page and its Gradio API, and `POST /v1/ask`: one stateless JSON request per
    question ({"question": …, "history": […]} → the `ask --json` object), which a proxy may send
    to any replica. (A Gradio API call is two requests, join and result, that must reach one.)"""

    def ask(request: Request, body: Annotated[dict, Body()]) -> dict:
        # The client's address: uvicorn takes it from X-Forwarded-For when the proxy is trusted
        # (loopback, or FORWARDED_ALLOW_IPS), so the rate limit and the log see the resident.
        return service.ask_json(body.get("question"), body.get("history"), client_address(request))

    app.launch(
        server_name=settings.server.host, server_port=settings.server.port, head=CLICK_SCRIPT, css=CSS,
        show_error=False, footer_links=["api"], quiet=False,
        app_kwargs={"routes": [APIRoute("/v1/ask", ask, methods=["POST"])]},
    )
