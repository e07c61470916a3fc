# The two commands: `make run` (set up, then run the proxy) and `make test` (set up, then run the tests).
# Setup is `make venv`: a .venv with a Python >= 3.12 (scripts/find-python) and the pinned
# dependencies (constraints.txt); it re-installs only when pyproject.toml or constraints.txt change.

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
ARGS ?=

.PHONY: venv run test lint bench constraints

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		python=$$(scripts/find-python) || exit 1; \
		echo "creating $(VENV) with $$python"; \
		rm -rf $(VENV); \
		"$$python" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,chart]"
	@touch $@

# Starts the proxy on 127.0.0.1:8080 with compression on; `make run ARGS="--shadow --port 9000"`.
run: venv
	$(VENV)/bin/wiretrim run --compress $(ARGS)

test: venv
	$(PY) -m pytest $(ARGS)

lint: venv
	$(VENV)/bin/ruff check wiretrim tests

# Figures for the engine, the addon and the proxy (README "Performance"); asserts nothing.
# `make bench ARGS=--quick` takes about a minute and a half; corpus and sessions default to ../shared.
bench: venv
	$(VENV)/bin/wiretrim bench $(ARGS)

# Re-pin after changing dependencies in pyproject.toml: keeps existing pins, adds new packages.
constraints:
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,chart]"
	$(PY) -m pip freeze --exclude-editable > constraints.txt
	@touch $(STAMP)
