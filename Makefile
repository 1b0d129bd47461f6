# Two commands on a fresh machine: `make run` (the whole pipeline, embedded defaults) and
# `make test`. Both create .venv when it is missing and install what they need into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A persistent instance: run history, sensor cursors and `dagster dev` share it.
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# dagster-mlflow pins dagster exactly; an unpinned resolve silently picks an ancient release.
DAGSTER_MLFLOW_VERSION := 0.29.27
# Which TensorFlow build: the pyproject extra `tensorflow` (with GPU support) or `cpu`
# (tensorflow-cpu: smaller, what the CI workflows install). `make run TENSORFLOW=cpu`.
# One virtualenv holds one of them (named in its stamp, the default here): remove $(VENV) to switch.
TENSORFLOW ?= $(or $(shell cat $(VENV)/.installed 2>/dev/null),tensorflow)
# Refuses a TENSORFLOW other than the build $(VENV) has (an empty stamp, from before: tensorflow).
CHECK_TENSORFLOW = @case '$(TENSORFLOW)' in tensorflow|cpu) ;; \
		*) echo "TENSORFLOW=$(TENSORFLOW): choose tensorflow or cpu" >&2; exit 2;; esac; \
	if [ -f $(VENV)/.installed ]; then \
		installed=$$(cat $(VENV)/.installed); installed=$${installed:-tensorflow}; \
		[ "$$installed" = '$(TENSORFLOW)' ] || { echo "$(VENV) has the TensorFlow extra \
	'$$installed', not '$(TENSORFLOW)': remove $(VENV) to switch" >&2; exit 2; }; fi

# Installs with uv where it is present (on PATH, or in $(VENV) from the dev extra): several times
# faster than pip, cold or warm (bench/README.md). pip otherwise; `make install UV=` forces pip.
# Either way the dagster-mlflow check below still guards the resolve.
UV ?= $(or $(shell command -v uv 2>/dev/null),$(wildcard $(BIN)/uv))
PIP_INSTALL = $(if $(UV),$(UV) pip install --python $(BIN)/python,$(BIN)/pip install --progress-bar off)

.PHONY: install install-dev run dev test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(CHECK_TENSORFLOW)
	$(PIP_INSTALL) -e '.[$(TENSORFLOW)]'
	@# not grep -q: it would stop reading early and pip would complain of a broken pipe
	$(BIN)/pip show dagster-mlflow | grep -x 'Version: $(DAGSTER_MLFLOW_VERSION)' >/dev/null \
		|| { echo "dagster-mlflow is not $(DAGSTER_MLFLOW_VERSION): pip resolved another release" >&2; exit 1; }
	echo '$(TENSORFLOW)' > $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP_INSTALL) -e '.[dev,$(TENSORFLOW)]'
	touch $@

install: $(VENV)/.installed
	$(CHECK_TENSORFLOW)
install-dev: $(VENV)/.installed-dev
	$(CHECK_TENSORFLOW)

$(DAGSTER_HOME):
	mkdir -p $@

# The whole graph on the embedded defaults: a short run log and a summary at the end
# (MLOPS_ASSETS_VERBOSE=1 make run: Dagster's full event log). It creates $(DAGSTER_HOME).
run: install
	$(BIN)/mlops-assets run

dev: install | $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml

# Test processes side by side (pytest-xdist): most tests wait on subprocesses and servers, so
# two workers on two cores take about 0.6 of the serial time. WORKERS=0 runs them in one process.
WORKERS ?= auto

# Everything, with the 25 slowest tests listed (CI runs this).
test: install-dev
	$(BIN)/python -m pytest -n $(WORKERS) --durations=25

# The tests that neither train, start a server or Dagster process, nor run the pipeline.
test-fast: install-dev
	$(BIN)/python -m pytest -n $(WORKERS) -m "not pipeline" --durations=10

lint: install-dev
	$(BIN)/ruff check mlops_assets mlops_assets_tests bench scripts
	$(BIN)/ruff format --check mlops_assets mlops_assets_tests bench scripts

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf artifacts mlflow.db mlruns .dagster_home
