# The two commands a newcomer needs:  `make demo`  and  `make test`.
# Both set up a virtual environment first. TORCH_SPEC is the one place torch is pinned: the default is
# the CPU build for this kind of machine; `make test TORCH_SPEC=` keeps a torch you installed yourself
# (then create the venv with --system-site-packages, or install torch into .venv first).
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.ig-widget-installed

.PHONY: setup frontend chromium demo test test-python test-js bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(if $(TORCH_SPEC),$(BIN)/python -m pip install "$(TORCH_SPEC)")
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

setup: $(STAMP)

# anywidget reads the bundle when a widget class is defined, so it is built before anything imports it.
frontend: setup
	cd js && npm install --no-audit --no-fund --loglevel=error && npm run build

# Debian's chromium drives the browser tests; Playwright never downloads a browser of its own.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

demo: frontend
	$(BIN)/python -m ig_widget.demo

test-js: frontend
	cd js && npm test

test-python: frontend chromium
	$(BIN)/python -m pytest -ra

test: test-js test-python

bench: frontend  # Captum, the reference it is measured against, comes with the test extra
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) js/node_modules ig_widget/static
