# Two entry points for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SHARED_ARCHIVE := $(abspath ../shared/data/cifar-10-subset-python.tar.gz)
SHARED_MD5 := 6c9bc4d9db7e170d984047b75e787a60
SHARED_PHOTOS := $(abspath ../shared/data/real-photos)
COMMA := ,
# The real CIFAR-10 subset when it lies beside the project (no network needed); elsewhere the
# ingestion downloads the official archive (md5-checked, resumable).
ifneq ($(wildcard $(SHARED_ARCHIVE)),)
DATA_PARAMS := cifar10.url=file://$(SHARED_ARCHIVE),cifar10.md5=$(SHARED_MD5)
endif
# The benchmark judges the models on the real photos when they lie beside the project
# (docs/benchmark.md); elsewhere on data/01_raw/benchmark_photos, empty until you fill it.
RUN_PARAMS := $(DATA_PARAMS)
ifneq ($(wildcard $(SHARED_PHOTOS)),)
RUN_PARAMS := $(if $(DATA_PARAMS),$(DATA_PARAMS)$(COMMA))benchmark.folder=$(SHARED_PHOTOS)
endif
params = $(if $(1),--params "$(1)")

export KEDRO_DISABLE_TELEMETRY := 1
export MLFLOW_DISABLE_TELEMETRY := true
export KEDRO_LOGGING_CONFIG := $(CURDIR)/conf/logging.yml

.PHONY: install run test lint browser smoke serve team-server gpu-check docs docs-check clean-venv

$(BIN)/kedro: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,team]"
	touch $@

install: $(BIN)/kedro

# The main job: every pipeline, on the shared subset or the official download (DATA_PARAMS), and
# the benchmark on the shared real photos when they are there (RUN_PARAMS).
run: install
	$(BIN)/kedro run $(call params,$(RUN_PARAMS))

lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

# The browser tests' chromium: Debian's from apt as root, else Playwright's download. Without
# network neither can come, and `make test` still runs: its last lines say the browser tests
# were skipped. In CI (CI set) that fails here.
browser: install
	@bash .ci/install-browser $(BIN)/python || [ -z "$$CI" ]

test: lint browser
	$(BIN)/pytest

# Real-data smoke run of the data pipelines, as CI does it.
smoke: install
	$(BIN)/kedro run --pipelines ingestion,preprocessing $(call params,$(DATA_PARAMS))

# Serve a registered colouriser over HTTP (POST /invocations; the README shows a client). mlflow
# starts `uvicorn` by name, so the venv's bin goes first on PATH: no need to activate the venv.
MODEL ?= models:/image-colourisation@champion
HOST ?= 127.0.0.1
PORT ?= 5001
serve:
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/mlflow models serve -m "$(MODEL)" --env-manager local --host $(HOST) --port $(PORT)

# The team's MLflow tracking server (docs/team-server.md): PostgreSQL, an artifact folder, a login;
# its state in team-server/. The first start needs MLFLOW_AUTH_ADMIN_PASSWORD.
team-server: install
	bash tools/team_server.sh start

# The CUDA path in one table (benchmarks/gpu_check.py): on a machine with a GPU, under 8 minutes.
gpu-check: install
	$(BIN)/python benchmarks/gpu_check.py

# The documentation site (docs/, mkdocs.yml) with its tools: the `docs` extra of pyproject.toml.
$(BIN)/mkdocs: $(BIN)/kedro
	$(BIN)/pip install --quiet -e ".[test,team,docs]"
	touch $@

# Read the documentation on http://127.0.0.1:8008 (8000 is the colourise page's); reloads on edits.
DOCS_PORT ?= 8008
docs: $(BIN)/mkdocs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

# What CI checks: the site builds with no broken link, page or anchor (strict: warnings fail).
docs-check: $(BIN)/mkdocs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean-venv:
	rm -rf $(VENV)
