# The two commands: `make run` (install, build the default index if absent, serve UI + API)
# and `make test` (install with test tools, run the tests).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test install install-test lint browser

run: install
	$(PY) app.py

test: install-test browser
	$(PY) -m pytest

# the browser test drives Debian's headless Chromium: install it when it is missing (needs root or sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -r requirements.txt -e '.[test]'
	touch $@

lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks app.py
