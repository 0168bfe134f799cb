# Two commands for a newcomer: `make book` builds the course, `make test` runs every test.
# Installation happens on first use and is skipped afterwards (stamp files), so both commands
# are cheap to repeat.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BUILD  := _build
HTML   := $(BUILD)/html
PORT   ?= 8000

# Python side: requirements.txt (pinned) + bnlib in editable mode.
PY_STAMP := $(VENV)/.installed
# JavaScript side: MathJax, require.js and the widget HTML manager, served by the book itself.
VENDOR   := book/vendor
JS_STAMP := $(VENDOR)/node_modules/.installed
# The build caches notebook execution keyed on the notebook's code only; when bnlib changes,
# drop that cache so the pages show what the current library computes.
BNLIB_SRC   := $(shell find bnlib -type f \( -name '*.py' -o -name '*.json' -o -name '*.npz' \) 2>/dev/null)
BNLIB_STAMP := $(BUILD)/.bnlib-stamp

JB_FLAGS := --config book/_config.yml --toc book/_toc.yml -W -n --keep-going
# Two workers, one file per worker at a time; the notebooks (nbval) and the JupyterLab end-to-end
# test count as one file, so they never run side by side (tests/conftest.py).
PYTEST_FLAGS ?= -n 2 --dist loadfile

.PHONY: help install install-torch book test lab serve clean distclean

help:
	@echo "make book           install on first use, build the HTML book into $(HTML)"
	@echo "make test           install on first use, build the book, run the whole test suite"
	@echo "make lab            JupyterLab on notebooks/ (live widgets)"
	@echo "make serve          serve the built book on http://127.0.0.1:$(PORT)/"
	@echo "make install-torch  optional PyTorch (CPU) for the parity tests and benchmarks"
	@echo "make clean          remove the build (and its execution cache)"
	@echo "make distclean      also remove .venv and $(VENDOR)/node_modules"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(JS_STAMP): $(VENDOR)/package.json $(VENDOR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js and npm (e.g. apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix $(VENDOR) --ignore-scripts --no-audit --no-fund
	touch $@

install: $(PY_STAMP) $(JS_STAMP)

install-torch: $(PY_STAMP)
	$(BIN)/python -m pip install -q -r requirements-torch.txt

# A bnlib change can change any page, but Sphinx re-reads only pages whose source changed:
# drop its doctrees too, or unchanged pages keep their old outputs and no widget manifest.
$(BNLIB_STAMP): $(BNLIB_SRC)
	rm -rf $(BUILD)/.jupyter_cache $(BUILD)/widget_manifest $(BUILD)/.doctrees
	mkdir -p $(BUILD)
	touch $@

# BNLIB_WIDGETS=static: every widget exports precomputed frames that the pages switch with
# no kernel (bnlib/widgets/_static.py); its manifest of frame hashes goes to
# $(BUILD)/widget_manifest for the browser test. JupyterLab and the tests stay live.
book: install $(BNLIB_STAMP)
	BNLIB_WIDGETS=static BNLIB_WIDGETS_MANIFEST=$(CURDIR)/$(BUILD)/widget_manifest \
	  $(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo
	@echo "The book is in $(HTML). Open file://$(CURDIR)/$(HTML)/index.html or run: make serve"

test: book
	$(BIN)/pytest $(PYTEST_FLAGS)

lab: install
	$(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

serve:
	@test -f $(HTML)/index.html || { echo "No built book in $(HTML): run make book first"; exit 1; }
	@echo "Serving the book on http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory $(HTML)

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV) $(VENDOR)/node_modules
