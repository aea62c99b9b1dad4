# OfficeHub — the two commands first: `make demo`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
NODE_STAMP := tests/browser/node_modules/.installed

.PHONY: demo test bench check install install-test serve docs clean

demo: $(STAMP)
	$(VENV)/bin/officehub demo

test: $(TSTAMP) $(NODE_STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(TSTAMP)
	$(PY) -m bench.run_all $(BENCH_ARGS)

check: $(TSTAMP)
	$(VENV)/bin/ruff check protocol facecore hub devices firmware_sim tests bench
	$(VENV)/bin/mypy protocol facecore hub devices firmware_sim

docs: $(STAMP)
	$(PY) -m protocol.docgen > docs/mqtt-api.md

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip wheel

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

# playwright-core only (it downloads no browser); the tests drive Debian's chromium.
$(NODE_STAMP): tests/browser/package.json
	@if command -v npm >/dev/null; then \
		(cd tests/browser && npm install --no-audit --no-fund --silent) && touch $(NODE_STAMP) \
		|| echo "note: npm install for the browser tests failed"; \
	else echo "note: npm not found: the browser tests need node, npm and chromium"; fi

install: $(STAMP)
install-test: $(TSTAMP)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
