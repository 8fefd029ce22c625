"""Generative answers: an LLM writes, and every sentence is verified against the passage it cites."""

from nanhai_qa.index.options import Choice


class GeneratorKind(Choice):
    """Who writes answers: the extractive engine (quotes only), or a language model run in
    this process (transformers) or behind an OpenAI-compatible server, verified sentence by sentence."""

    EXTRACTIVE = "extractive"
    TRANSFORMERS = "transformers"
    OPENAI = "openai"
