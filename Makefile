# The one entry point for developers and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Test binaries link libpython; pyenv and similar installs keep it off the loader's path.
PYLIBDIR := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')")
export LD_LIBRARY_PATH := $(PYLIBDIR):$(LD_LIBRARY_PATH)
# Tests, wheel and benchmarks share the release profile: CI compiles the core once.
CARGO_PROFILE := --release

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements-dev.txt requirements-engines.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Apache Airflow 3 conflicts with nothing we pin, but it is large and slow to resolve: it gets its
# own venv, rebuilt only when requirements-airflow.txt changes (cache .venv-airflow in CI).
AIRFLOW_VENV := .venv-airflow
$(AIRFLOW_VENV)/.installed: requirements-airflow.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install -q --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install -q -r requirements-airflow.txt
	touch $@

.PHONY: install
install: $(VENV)/.installed ## create .venv with maturin and the test tools

.PHONY: build
build: install ## build the extension (release profile) into .venv
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/maturin develop -q $(CARGO_PROFILE)

.PHONY: format
format: install ## format Rust and Python
	cargo fmt
	$(VENV)/bin/ruff format python tests bench
	$(VENV)/bin/ruff check --fix python tests bench

.PHONY: lint-rust
lint-rust: ## rustfmt, clippy, and the one-arrow-version / pyo3-only-in-bindings checks
	cargo fmt --check
	cargo clippy $(CARGO_PROFILE) --all-targets -- -D warnings
	bash .ci/check-boundaries

.PHONY: lint-python
lint-python: install ## ruff check and format check; mypy over the package and its stubs
	$(VENV)/bin/ruff check python tests bench
	$(VENV)/bin/ruff format --check python tests bench
	MYPYPATH=python $(VENV)/bin/mypy -p converz

.PHONY: stubtest
stubtest: build ## the stubs (.pyi) against the built extension and package
	MYPYPATH=python $(VENV)/bin/python -m mypy.stubtest converz --mypy-config-file pyproject.toml \
		--allowlist .ci/stubtest-allowlist.txt

.PHONY: lint
lint: lint-rust lint-python stubtest ## all linters

.PHONY: test-rust
test-rust: ## cargo test
	cargo test $(CARGO_PROFILE) -q

.PHONY: airflow-env
airflow-env: build $(AIRFLOW_VENV)/.installed ## Apache Airflow 3 in its own cached venv, with converz
	VIRTUAL_ENV=$(abspath $(AIRFLOW_VENV)) PATH=$(abspath $(AIRFLOW_VENV))/bin:$$PATH $(VENV)/bin/maturin develop -q $(CARGO_PROFILE)

.PHONY: test-python
test-python: build airflow-env ## pytest against the emulator over real HTTP
	$(VENV)/bin/pytest -q

.PHONY: test-notebooks
test-notebooks: build ## execute every notebook
	$(PY) tests/run_notebooks.py notebooks

.PHONY: test
test: lint test-rust test-python test-notebooks ## everything CI runs

.PHONY: demo
demo: build ## start the emulator and run the main job end to end
	$(PY) -m converz.demo

.PHONY: bench
bench: build ## the benchmarks: converz against requests+pandas and httpx+polars; rewrites README's tables
	$(PY) bench/run.py
	$(PY) bench/cpu_split.py --rounds 3

# The standard library is all bench/readme.py needs: no venv, no build.
.PHONY: bench-readme
bench-readme: ## rewrite README.md's benchmark tables from bench/results/*.json (no run)
	$(PYTHON) bench/readme.py

.PHONY: soak
soak: build ## reliability soak (minutes, not in test): 10M calls under faults (SOAK_ROWS=N), then Dask/Ray at 1M
	$(PY) bench/soak.py $(if $(SOAK_ROWS),--rows $(SOAK_ROWS))

.PHONY: clean
clean: ## remove build output and .venv
	cargo clean
	rm -rf $(VENV) $(AIRFLOW_VENV) .pytest_cache .ruff_cache
