# OfficeHub — the two commands first: `make demo`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
PRINT_STAMP := $(VENV)/.installed-print
NODE_STAMP := tests/browser/node_modules/.installed

.PHONY: demo test test-env bench check install install-test serve docs clean

demo: $(STAMP)
	$(VENV)/bin/officehub demo

# test-env first: it installs the Debian packages the next steps build against (libcups2-dev, npm).
test: test-env $(TSTAMP) $(PRINT_STAMP) $(NODE_STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# System packages where missing (apt-get) and the daemons the tests talk to; quick when all is there.
test-env:
	@PYTHON=$(PYTHON) bash scripts/test-env.sh

bench: $(TSTAMP)
	$(PY) -m bench.run_all $(BENCH_ARGS)

check: $(TSTAMP)
	$(VENV)/bin/ruff check protocol facecore hub devices firmware_sim tests bench
	$(VENV)/bin/mypy protocol facecore hub devices firmware_sim

docs: $(STAMP)
	$(PY) -m protocol.docgen > docs/mqtt-api.md

# A half-made venv (no ensurepip: Debian's python3-venv missing; no network) is removed, so the next
# make starts it again instead of taking .venv/bin/python as done.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PIP) install -U pip wheel || { rm -rf $(VENV); exit 1; }

# face_recognition's metadata pins the dlib sdist (a long compile): install the prebuilt
# dlib-bin wheel and the models first, then face-recognition without its dependencies.
$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PIP) install dlib-bin face_recognition_models
	$(PIP) install --no-deps face-recognition==1.3.0
	$(PIP) install -e .
	@$(PIP) install -e '.[print]' 2>/dev/null || echo "note: pycups not installed (needs libcups2-dev); print boxes need it, the hub does not"
	touch $(STAMP)

$(TSTAMP): $(STAMP)
	$(PIP) install -e '.[test,dev]'
	touch $(TSTAMP)

# pycups (the print-box tests drive a real CUPS queue); it compiles against libcups2-dev.
$(PRINT_STAMP): $(STAMP) | test-env
	$(PIP) install -e '.[print]'
	touch $(PRINT_STAMP)

# playwright-core only, exactly as locked (it downloads no browser); the tests drive Debian's chromium.
$(NODE_STAMP): tests/browser/package.json tests/browser/package-lock.json | test-env
	cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP)
install-test: $(TSTAMP) $(PRINT_STAMP) $(NODE_STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
