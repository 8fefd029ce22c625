# Two commands do all set-up on a fresh machine:  make app  and  make test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install app index test lint bench clean

# torch goes first and pinned: 2.13.0 is the CPU build; an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Converts the embedding model and builds the index when missing, then asks interactively.
app: install
	$(VENV)/bin/nanhai-qa index
	$(VENV)/bin/nanhai-qa ask

index: install
	$(VENV)/bin/nanhai-qa index

lint: install
	$(VENV)/bin/ruff check .

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

bench: install
	$(PY) eval/bench.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache *.egg-info
