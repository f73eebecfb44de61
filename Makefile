# The two commands (see README.md):
#   make book   set up .venv and build the website into _build/html
#   make test   set up .venv, then unit tests, nbval over every notebook, and a warning-free book build
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
REPORTS := _build/reports
JB_FLAGS := -W -n --keep-going
NBVAL  := --nbval-lax --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg --nbval-cell-timeout=300
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test setup apt unit notebooks build-book site clean help
.DEFAULT_GOAL := help

help:
	@echo "make book   build the website into _build/html (creates .venv on first use)"
	@echo "make test   unit tests + nbval over notebooks/ + warning-free book build"

setup: apt $(STAMP)

apt:
	@bash tools/apt-ensure.sh apt.txt $(if $(filter test,$(MAKECMDGOALS)),tools/apt-test.txt,)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | { grep -v "is ignored: it is neither a file" || true; }
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | { grep -v "is ignored: it is neither a file" || true; }
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (kexue)" >/dev/null
	@touch $@

book: setup
	$(BIN)/python tools/nbtools.py refresh notebooks
	$(MAKE) --no-print-directory build-book

# Builds from the notebooks' stored outputs (_config.yml: execute_notebooks "off"); inside `make test`
# these are the outputs that nbval has just verified, so nothing runs twice.
build-book:
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "website: _build/html/index.html"


unit:
	@mkdir -p $(REPORTS)
	$(BIN)/python -m pytest tests -m "not site" --junitxml=$(REPORTS)/unit.xml

notebooks:
	@mkdir -p $(REPORTS)
	$(BIN)/python -m pytest $(NBVAL) notebooks -p no:cacheprovider --junitxml=$(REPORTS)/nbval.xml -o testpaths=notebooks

test: setup
	@t0=$$(date +%s); \
	$(MAKE) --no-print-directory unit; \
	$(MAKE) --no-print-directory notebooks; \
	$(MAKE) --no-print-directory build-book; \
	$(MAKE) --no-print-directory site; \
	echo "make test: all passed in $$(( $$(date +%s) - t0 )) s"

# Real-browser check of the built site (headless Chromium); screenshots in _build/screenshots/
site:
	$(BIN)/python -m pytest tests/test_site.py -m site -p no:cacheprovider --junitxml=$(REPORTS)/site.xml

clean:
	rm -rf _build .jupyter_cache
