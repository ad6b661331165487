# The two commands a newcomer needs:  `make demo`  and  `make test`.
# Both set up a virtual environment first. TORCH_SPEC is the one place torch is pinned: the default is
# the CPU build for this kind of machine; `make test TORCH_SPEC=` keeps a torch you installed yourself
# (then create the venv with --system-site-packages, or install torch into .venv first).
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.ig-widget-installed

.PHONY: setup frontend chromium demo test test-python test-js lint-python bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(if $(TORCH_SPEC),$(BIN)/python -m pip install "$(TORCH_SPEC)")
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

setup: $(STAMP)

# anywidget reads the bundle when a widget class is defined, so it is built before anything imports it.
# `npm ci` installs exactly what js/package-lock.json says and never rewrites it (it fails instead when
# the lock and package.json disagree); npm's own record of the install is the stamp.
NODE_STAMP := js/node_modules/.package-lock.json

$(NODE_STAMP): js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

frontend: setup $(NODE_STAMP)
	cd js && npm run build

# Debian's chromium drives the browser tests; Playwright never downloads a browser of its own.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

demo: frontend
	$(BIN)/python -m ig_widget.demo

# Lint and format are checked, never applied, by the test command: `npm run format` (js) and
# `ruff format . && ruff check --fix .` apply them.
test-js: frontend
	cd js && npm run lint && npm test

lint-python: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

test-python: frontend chromium
	$(BIN)/python -m pytest -ra

# A test run must leave every tracked file as it found it (a rewritten lock file, a regenerated notebook):
# the digests of the tracked files before and after the run are compared, so edits that were already
# there before the run are tolerated and only what the run itself changed fails it.
TRACKED_DIGEST := git ls-files -z | xargs -0 sha1sum 2>&1
DIGESTS := build/tracked-files

test:
	@mkdir -p $(DIGESTS)
	@rm -f $(DIGESTS)/before; if git rev-parse --git-dir >/dev/null 2>&1; then $(TRACKED_DIGEST) > $(DIGESTS)/before; fi
	$(MAKE) lint-python test-js test-python
	@if [ -f $(DIGESTS)/before ]; then \
	  $(TRACKED_DIGEST) > $(DIGESTS)/after; \
	  if ! diff $(DIGESTS)/before $(DIGESTS)/after > $(DIGESTS)/changed; then \
	    echo "make test changed tracked files (they must stay as committed):"; cat $(DIGESTS)/changed; exit 1; \
	  fi; \
	fi

bench: frontend  # Captum, the reference it is measured against, comes with the test extra
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) js/node_modules ig_widget/static
