# Two entry points: `make serve` and `make test`. Both bootstrap .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 7860
PROFILE ?= nano
# The stamp names the pyproject it was built from, so a dependency change reinstalls.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install serve test test-fast lint format eval-latency clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	# llama-cpp-python compiles from source here (about 6 minutes on 2 cores).
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY) -m pip install -e '.[dev]'
	# pymdp (the planner's cross-check) without its JAX stack: only pymdp.legacy (numpy) is used.
	$(PY) -m pip install --no-deps 'inferactively-pymdp==1.0.4'
	rm -f $(VENV)/.installed-*
	touch $@

serve: install
	$(VENV)/bin/eco1 serve --host $(HOST) --port $(PORT) --profile $(PROFILE)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install lint
	$(VENV)/bin/pytest -q -rs

# Everything but the tests marked slow (real servers, every model, WebRTC, real-time audio): for development.
test-fast: install
	$(VENV)/bin/pytest -q -rs -m "not slow"

eval-latency: install
	$(VENV)/bin/eco1 eval latency

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
