# babymon: `make demo` sets up and runs a demo; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: install install-train system-deps test test-daemon test-unit test-ha lint fuzz demo bench clean

# Home Assistant component tests: their own Python 3.13 virtualenv (HA pins its own paho-mqtt/numpy)
PYTHON_HA ?= $(shell python3.13 --version >/dev/null 2>&1 && echo python3.13 || echo $(HOME)/.pyenv/versions/3.13.0/bin/python)
VENV_HA := .venv-ha
STAMP_HA := $(VENV_HA)/.installed

$(STAMP_HA): tests_ha/requirements.txt
	@test -x "$(PYTHON_HA)" || command -v "$(PYTHON_HA)" >/dev/null || { echo "need Python 3.13 (make PYTHON_HA=...)"; exit 1; }
	$(PYTHON_HA) -m venv $(VENV_HA)
	$(VENV_HA)/bin/pip install --quiet --upgrade pip
	$(VENV_HA)/bin/pip install --quiet -r tests_ha/requirements.txt
	@touch $(STAMP_HA)


install: system-deps $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (or run: make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	@touch $(STAMP)

TRAIN_STAMP := $(VENV)/.installed-train

install-train: $(TRAIN_STAMP)

$(TRAIN_STAMP): $(STAMP) requirements-train.txt
	$(VENV)/bin/pip install --quiet -r requirements-train.txt
	@touch $(TRAIN_STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

test: test-daemon test-ha

# the training extras (torch) too: the tests export RetinaFace from its PyTorch weights and cover the lab (babymon_lab)
test-daemon: install install-train
	$(VENV)/bin/python -m pytest -q

# the quick ones: pure logic, no services, no ../shared (about 20 s)
test-unit: install
	$(VENV)/bin/python -m pytest -q tests/unit

lint: install
	$(VENV)/bin/ruff check babymon babymon_lab tests scripts custom_components tests_ha

# the property-based tests with many more examples than `make test` runs (a few minutes)
fuzz: install
	BABYMON_FUZZ_EXAMPLES=5000 $(VENV)/bin/python -m pytest -q -m fuzz

test-ha: $(STAMP_HA)
	$(VENV_HA)/bin/python -m pytest -q -c tests_ha/pytest.ini --rootdir tests_ha tests_ha

demo: install
	$(VENV)/bin/python scripts/demo.py

# the daemon benchmark (babymon_lab/bench.py; the lab's commands come with `make install`)
bench: install
	$(VENV)/bin/babymon bench --cameras 8 --seconds 30

clean:
	rm -rf $(VENV) $(VENV_HA) .pytest_cache
