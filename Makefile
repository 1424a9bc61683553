# babymon: `make demo` sets up and runs a demo; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: install system-deps test demo bench clean

install: system-deps $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (or run: make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	@touch $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

test: install
	$(VENV)/bin/python -m pytest -q

demo: install
	$(VENV)/bin/python scripts/demo.py

bench: install
	$(VENV)/bin/babymon bench --cameras 8 --seconds 30

clean:
	rm -rf $(VENV) .pytest_cache
