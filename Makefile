# Two commands set everything up: `make serve` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
SERVE_STAMP := $(VENV)/.serve-installed
BENCH_STAMP := $(VENV)/.bench-installed
# `make serve` installs what serving needs (the package and its media extra); `make test` and
# `make check` add the test and development tools.
SERVE_EXTRAS ?= media
EXTRAS ?= media,test,dev,qdrant,distributed
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: install serve test test-fast check bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# torch first and pinned: a looser range would pull the newest CUDA build (several GB).
$(SERVE_STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "==> installing torch 2.13.0 and omnivec[$(SERVE_EXTRAS)] into $(VENV) (a few minutes the first time)"
	$(PIP) install --progress-bar on torch==2.13.0
	$(PIP) install --progress-bar on -e '.[$(SERVE_EXTRAS)]'
	touch $(SERVE_STAMP)
	@echo "==> installed. The CLI is $(VENV)/bin/omnivec (or: source $(VENV)/bin/activate)"

$(STAMP): $(SERVE_STAMP)
	@echo "==> installing the test and development extras: omnivec[$(EXTRAS)]"
	$(PIP) install --progress-bar on -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(SERVE_STAMP)

serve: $(SERVE_STAMP)
	$(VENV)/bin/omnivec serve --host $(HOST) --port $(PORT) $(ARGS)

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/pytest -q $(PYTEST_ARGS)

# The unit tests alone: no model weights, no subprocess servers; under a minute.
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/pytest -q tests/unit $(PYTEST_ARGS)

check: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The benchmark's own extras (load clients, chart, ONNX Runtime); Infinity installs itself into
# bench/.venv-infinity on first use.
$(BENCH_STAMP): $(STAMP)
	$(PIP) install --quiet -e '.[$(EXTRAS),bench,onnx]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
