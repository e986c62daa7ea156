# Konvergensi — `make run` runs one night end to end, `make test` runs the tests.
# Both set everything up first: virtualenv, packages, embedded PostgreSQL, Airflow home.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
export KONVERGENSI_DATA_DIR ?= $(CURDIR)/.data
export PYTHONPATH := $(CURDIR)/include
export AIRFLOW_HOME := $(KONVERGENSI_DATA_DIR)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
# The dbt build runs once (no Airflow retries): no need to copy every node status into a Variable as it arrives.
export AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY := False
# Cosmos' partial-parse cache per checkout (its default, /tmp/cosmos, is shared by every checkout on the machine).
export AIRFLOW__COSMOS__CACHE_DIR := $(KONVERGENSI_DATA_DIR)/cosmos
export AIRFLOW__LOGGING__LOGGING_LEVEL := INFO
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export PATH := $(VENV)/bin:$(PATH)

WITH_WAREHOUSE := $(PY) -m konvergensi.warehouse exec --
RUN_DATE ?= $(shell date -u +%Y-%m-%d)
SIM_MONTHS ?= 12
SIM_CHILDREN ?= 23000
SIM_SEED ?= 42
N ?= 1000000
BENCH_CHILDREN ?= 23000
BENCH_MONTHS ?= 12
LINKAGE_CHILDREN ?= 23000
LINKAGE_MONTHS ?= 12

AIRFLOW_PORT ?= 8080
export AIRFLOW_PORT
# Superset lives in its own virtualenv: it pins libraries older than the project's (deploy/superset/).
SUPERSET_VENV ?= $(CURDIR)/.venv-superset
export SUPERSET_VENV
SUPERSET_PORT ?= 8088
export SUPERSET_PORT

.PHONY: help setup run airflow bi superset-venv browser test test-unit bench bench-province faults soak psql backup restore stop clean gate-rules export-aksi docs analyst-guide report

help:
	@echo "make run [LANDING_DIR=dir] [RUN_DATE=yyyy-mm-dd]  one nightly run end to end (simulated sources unless LANDING_DIR)"
	@echo "         [DOWN='services pupr_surveys']           simulated sources that are down tonight"
	@echo "make report [RUN_DATE=yyyy-mm-dd]                 the monthly report (HTML + PDF, internal and public editions) of the"
	@echo "                                                  last published night, in \$$KONVERGENSI_DATA_DIR/reports/"
	@echo "make airflow [AIRFLOW_PORT=8080]                   Airflow with its UI on 127.0.0.1, scheduled, until Ctrl-C / make stop"
	@echo "make bi [SUPERSET_PORT=8088]                       Superset on the last published night (dashboard provisioned), until Ctrl-C / make stop"
	@echo "make test                                         unit and integration tests"
	@echo "make bench [N=1000000] [BENCH_CHILDREN=23000]     ingestion and z-score throughput; an incremental convergence night;"
	@echo "           [LINKAGE_CHILDREN=23000 LINKAGE_MONTHS=12]  the family linkage's precision and recall against the truth"
	@echo "make bench-province [PROVINCE_CHILDREN=2500000]  a month of weighings for the 35 kab/kota of Jawa Tengah as one night"
	@echo "make faults                                       kill -9 tests, two nights at once, the 5-night soak (not in make test)"
	@echo "make soak [NIGHTS=30] [REBUILD=every|end] [SOAK_CHILDREN=300] nights of corrections, outages, a backfill, a renamed column: per-night table"
	@echo "make psql [SQL='select …']                        psql on the warehouse"
	@echo "make gate-rules                                   regenerate the GX files from expectations/gate_rules.yml"
	@echo "make export-aksi [QUARTER=2026-Q3]                the published scorecard as Web Aksi Bangda CSV/XLSX (data dir exports/)"
	@echo "make docs                                         dbt docs of the published marts + GX Data Docs + reports behind <data dir>/index.html"
	@echo "make analyst-guide                                regenerate the star-schema diagram in docs/analyst-guide.md from the dbt manifest"
	@echo "make backup FILE=x.dump / make restore FILE=x.dump [REPLACE=1]  pg_dump / pg_restore of the warehouse (docs/operations.md)"
	@echo "make stop                                         stop Airflow (make airflow), Superset (make bi) and the embedded PostgreSQL"

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing packages into $(VENV) (first time takes a few minutes) …"
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(AIRFLOW_HOME)/airflow.db: $(VENV)/.installed
	@echo "Preparing the Airflow home in $(AIRFLOW_HOME) …"
	@mkdir -p $(AIRFLOW_HOME)
	@airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/db-migrate.log; exit 1)

dbt_project/target/manifest.json: $(VENV)/.installed $(shell find dbt_project/models dbt_project/seeds dbt_project/macros dbt_project/tests -type f 2>/dev/null) dbt_project/dbt_project.yml
	@echo "Parsing the dbt project …"
	@cd dbt_project && DBT_PROFILES_DIR=. dbt parse --quiet

setup: $(VENV)/.installed $(AIRFLOW_HOME)/airflow.db dbt_project/target/manifest.json

run: setup browser
	@$(WITH_WAREHOUSE) $(PY) -m konvergensi.night --run-date $(RUN_DATE) $(if $(LANDING_DIR),--landing-dir $(LANDING_DIR),--simulate --months $(SIM_MONTHS) --children $(SIM_CHILDREN) --seed $(SIM_SEED) $(foreach source,$(DOWN),--down $(source)))

# Airflow as a deployment: api-server + UI, scheduler (LocalExecutor), dag-processor, PostgreSQL metadata.
# It starts the embedded PostgreSQL itself (unless WAREHOUSE_URL is set), so that Ctrl-C stops it in order.
airflow: setup
	@$(PY) -m konvergensi.airflow_deployment run --port $(AIRFLOW_PORT)

# Superset 6.1 and the metadata template its first start copies (`superset db upgrade` + `superset init`).
$(SUPERSET_VENV)/.installed: deploy/superset/requirements.txt deploy/superset/constraints.txt
	@test -x $(SUPERSET_VENV)/bin/python || $(PYTHON) -m venv $(SUPERSET_VENV)
	@echo "Installing Apache Superset 6.1 into $(SUPERSET_VENV), its own virtualenv (first time takes a few minutes) …"
	@$(SUPERSET_VENV)/bin/python -m pip install --quiet --upgrade pip
	@$(SUPERSET_VENV)/bin/python -m pip install --quiet -c deploy/superset/constraints.txt -r deploy/superset/requirements.txt
	@touch $@

superset-venv: $(SUPERSET_VENV)/.installed $(VENV)/.installed
	@$(PY) -m konvergensi.bi prepare

# Superset on 127.0.0.1, connected as konvergensi_bi; a second `make bi` while one runs provisions it again.
bi: superset-venv
	@$(PY) -m konvergensi.bi run --port $(SUPERSET_PORT)

# Headless Chromium and its driver for the UI test and the report's PDF, pdftoppm (poppler-utils) for the
# report test's page images (Debian packages; CI starts from a fresh machine).
BROWSER_PACKAGES := $(if $(shell command -v chromium),,chromium) $(if $(shell command -v chromedriver),,chromium-driver) $(if $(shell command -v pdftoppm),,poppler-utils)
browser:
	@if [ -n "$(strip $(BROWSER_PACKAGES))" ]; then \
		echo "Installing $(strip $(BROWSER_PACKAGES)) (apt-get) …"; \
		if [ "$$(id -u)" -ne 0 ]; then echo "installing $(strip $(BROWSER_PACKAGES)) needs root (apt-get): run as root or install them" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
			--no-install-recommends $(strip $(BROWSER_PACKAGES)) >/dev/null; \
	fi

# RUN_DATE only when given (make report RUN_DATE=… or in the environment): otherwise the last published night.
report: setup browser
	@$(WITH_WAREHOUSE) $(PY) -m konvergensi.report $(if $(filter command line environment,$(origin RUN_DATE)),--run-date $(RUN_DATE))

# Test files are shared out to TEST_WORKERS processes (pytest-xdist), a whole file to one worker so that
# its module fixtures (a city, a deployment) are built once; TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
test: setup browser superset-venv
	@$(WITH_WAREHOUSE) $(PY) -m pytest -m "unit or integration" $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) --durations=15 $(or $(TESTS),tests)

test-unit: setup
	@$(PY) -m pytest -m unit tests

gate-rules: $(VENV)/.installed
	@$(PY) -m konvergensi.gate_rules generate

# The published scorecard in the Web Aksi Bangda layout (docs/operations.md, "Web Aksi Bangda export").
export-aksi: setup
	@$(WITH_WAREHOUSE) $(PY) -m konvergensi.aksi_export $(if $(QUARTER),--quarter $(QUARTER))

# The nightly DAG does this after every publish (task build_docs); `make docs` redoes it for the last published night.
docs: setup analyst-guide
	@$(WITH_WAREHOUSE) $(PY) -m konvergensi.docs_site build

analyst-guide: dbt_project/target/manifest.json
	@$(PY) -m konvergensi.star_schema write

bench: setup
	@$(WITH_WAREHOUSE) $(PY) tests/bench/bench_eppgbm.py --rows $(N)
	@$(WITH_WAREHOUSE) $(PY) tests/bench/bench_convergence.py --children $(BENCH_CHILDREN) --months $(BENCH_MONTHS)
	@$(WITH_WAREHOUSE) $(PY) tests/bench/bench_linkage.py --children $(LINKAGE_CHILDREN) --months $(LINKAGE_MONTHS)

PROVINCE_CHILDREN ?= 2500000
bench-province: setup
	@$(WITH_WAREHOUSE) $(PY) tests/bench/bench_province.py --children $(PROVINCE_CHILDREN)

# Kill tests and two nights at once (tests/faults/): real night processes killed with kill -9, and the
# embedded PostgreSQL itself killed and restarted, so they run against the embedded server only.
faults: setup
	@env -u WAREHOUSE_URL $(WITH_WAREHOUSE) $(PY) -m pytest -m faults --durations=0 $(or $(TESTS),tests/faults)

NIGHTS ?= 30
REBUILD ?= every
SOAK_CHILDREN ?= 300
soak: setup
	@env -u WAREHOUSE_URL $(WITH_WAREHOUSE) $(PY) -m tests.faults.soak --nights $(NIGHTS) --rebuild $(REBUILD) --children $(SOAK_CHILDREN)

# SQL reaches psql through the environment, so any quoting inside it survives.
export SQL
psql: $(VENV)/.installed
	@$(WITH_WAREHOUSE) bash -c 'if [ -n "$$SQL" ]; then psql "$$WAREHOUSE_URL" -c "$$SQL"; else psql "$$WAREHOUSE_URL"; fi'

backup: $(VENV)/.installed
	@test -n "$(FILE)" || (echo "make backup FILE=path/to/warehouse.dump" >&2; exit 2)
	@$(WITH_WAREHOUSE) $(PY) -m konvergensi.backup dump "$(FILE)"

restore: $(VENV)/.installed
	@test -n "$(FILE)" || (echo "make restore FILE=path/to/warehouse.dump [REPLACE=1]" >&2; exit 2)
	@$(WITH_WAREHOUSE) $(PY) -m konvergensi.backup restore "$(FILE)" $(if $(REPLACE),--replace)

stop: $(VENV)/.installed
	@$(PY) -m konvergensi.airflow_deployment stop
	@$(PY) -m konvergensi.bi stop
	@$(PY) -m konvergensi.warehouse stop

clean: stop
	rm -rf $(KONVERGENSI_DATA_DIR) dbt_project/target dbt_project/logs expectations/uncommitted
