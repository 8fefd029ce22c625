"""Generative answers: an LLM writes, and every sentence is verified against the passage it cites."""
