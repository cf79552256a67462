# Two commands set everything up: `make serve` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
EXTRAS ?= media,test,dev,distributed
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: install serve test check bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	# torch first and pinned: a looser range would pull the newest CUDA build (several GB).
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/omnivec serve --host $(HOST) --port $(PORT) $(ARGS)

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/pytest -q $(PYTEST_ARGS)

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
