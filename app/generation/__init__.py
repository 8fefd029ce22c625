"""Generative answers: an LLM writes, and every sentence is verified against the passage it cites."""

from nanhai_qa.index.options import Choice


class GeneratorKind(Choice):
    """Who writes answers: the extractive engine (quotes only), or a language model run in
    this process (llama.cpp, transformers) or behind an OpenAI-compatible server, verified
    sentence by sentence."""

    EXTRACTIVE = "extractive"
    LLAMACPP = "llamacpp"
    TRANSFORMERS = "transformers"
    OPENAI = "openai"
