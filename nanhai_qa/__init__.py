"""nanhai-qa: offline question answering with every fact cited to its source sentence.

One import package whose subpackages are the repository's top-level folders, in the order
the data flows (pyproject.toml maps them):

- nanhai_qa.ingest  (ingest/)   documents → chunks with exact offsets
- nanhai_qa.index   (index/)    chunks → embeddings, FAISS, BM25; persistence
- nanhai_qa.app     (app/)      question + history → cited answer; CLI, chat page, staff desk
- nanhai_qa.eval    (eval/)     drives the app from outside: eval sets, benchmarks
- nanhai_qa.prompts (prompts/)  every user-facing wording and LLM prompt, as text files
- nanhai_qa.data    (data/)     the bundled article and its corpus profile
"""

__version__ = "0.1.0"
