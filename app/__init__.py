"""app: question + history → cited answer, and the ways residents and staff reach it.

Rooms, in the order a question passes through them:
- answering/   the engine: clean the question, resolve follow-ups, retrieve, score, quote
- generation/  optional generative answers, every sentence verified against its source
- service.py   what the chat page and the staff desk share (no Gradio)
- storage/     the exchange log
- web/         the chat page (Gradio) and its HTML
- staff/       the staff citation desk (a tab of the chat page)
- cli.py       the `nanhai-qa` command
settings.py, profile.py and prompts.py are read by all of them.
"""
