# The commands the README names. Every target bootstraps what it needs from python3 alone.
PYTHON ?= python3
BOOT   := .boot
UV     := $(BOOT)/bin/uv
VENV   := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)


.PHONY: install browser postgres demo up test test-fast bench lint format simulator serve prefect-server register-blocks clean

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.9,<1"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced ## create .venv with every dependency (from uv.lock)

browser: ## Debian's chromium, for the real-browser dashboard check (needs root or sudo)
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install browser ## run the main job against the bundled simulator
	$(VENV)/bin/python -m deployments.demo --screenshot screenshots/novita-fleet.png

up: install browser ## the demo, then keep simulator, Prefect server and deployments running
	$(VENV)/bin/python -m deployments.demo --keep-running --screenshot screenshots/novita-fleet.png

postgres: ## start the local PostgreSQL when it does not answer (the scale tests need it)
	bash .ci/ensure-postgres

# Two pytest workers, one test file each at a time: most tests wait on a simulator or a Prefect
# server, so two files at once halve the wall time on 2 cores. Each worker starts its own
# Prefect test server and simulator (tests/live_servers.py). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: install browser postgres ## run the whole test suite
	$(VENV)/bin/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

test-fast: install ## the tests that start no simulator and no Prefect server (under a minute)
	$(VENV)/bin/python -m pytest -m "not integration"

BENCH ?= all
BENCH_ARGS ?=

bench: install postgres ## every benchmark, full size (~20 min; BENCH=fleet BENCH_ARGS=--quick for one, small)
	$(VENV)/bin/python -m bench $(BENCH) $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

simulator: install ## serve the Novita simulator on 127.0.0.1:8765
	$(VENV)/bin/python -m simulator

serve: install ## serve every deployment (needs PREFECT_API_URL and the NOVITA_* variables)
	$(VENV)/bin/python -m deployments.serve

prefect-server: install ## a local Prefect server with its UI on http://127.0.0.1:4200
	PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 \
	PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED=true PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED=true \
	$(VENV)/bin/prefect server start

register-blocks: install ## register the project's block types with the Prefect server
	$(VENV)/bin/prefect block register -m blocks

clean:
	rm -rf $(BOOT) $(VENV) .pytest_cache .ruff_cache

# -- Running at scale: Prefect server on PostgreSQL, N process workers (deployments/scale.py)
WORKERS    ?= 3
SCALE_ARGS ?=

.PHONY: scale-up scale-down scale-status

scale-up: install ## PostgreSQL-backed Prefect server, deployments, $(WORKERS) workers (SCALE_ARGS=--with-simulator)
	$(VENV)/bin/python -m deployments.scale up --workers $(WORKERS) $(SCALE_ARGS)

scale-down: install ## stop the workers, the simulator and the server that scale-up started
	$(VENV)/bin/python -m deployments.scale down

scale-status: install ## what scale-up started and whether it runs
	$(VENV)/bin/python -m deployments.scale status

# -- Automations as code (automations/*.yaml): NOTIFY_BLOCK=<block-type-slug>/<block-name>
NOTIFY_BLOCK ?=

.PHONY: automations

automations: install ## create/replace the automations of automations/ (needs PREFECT_API_URL)
	$(VENV)/bin/python -m deployments.automations $(if $(NOTIFY_BLOCK),--notify-block $(NOTIFY_BLOCK))
