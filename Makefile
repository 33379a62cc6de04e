# Entry points; each sets up .venv first and needs only python3 >= 3.11.
#   make demo   the exporter on simulated tenants: http://localhost:9929/metrics
#   make run    the exporter on CONFIG (default config.example.yaml), history in sla-exporter.db
#   make test   the tests; what CI runs (.ci/run)
#   make generate          rewrite what follows from slo/spec.py: prometheus/rules.yml,
#                          alerts.yml, the generated promtool tests, grafana/dashboards/*.json
#   make check-generated   the same, writing nothing: fails naming each stale file (CI)
#                          (both install the optional extra 'dashboards': grafana-foundation-sdk)
#   make lint   ruff check, ruff format --check and mypy (configured in pyproject.toml; installs
#               the optional extra 'lint'); CI runs it before the tests
VENV ?= .venv
PY := $(VENV)/bin/python
CONFIG ?= config.example.yaml

.PHONY: test install clean demo run generate check-generated lint

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

test: install
	$(PY) -m pytest -q

$(VENV)/.dashboards: $(VENV)/.installed pyproject.toml
	$(PY) -c 'import grafana_foundation_sdk' 2>/dev/null || $(PY) -m pip install -q -e '.[dashboards]'
	touch $@

generate: $(VENV)/.dashboards
	$(PY) -m slo

check-generated: $(VENV)/.dashboards
	$(PY) -m slo --check

$(VENV)/.lint: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[lint]'
	touch $@

lint: $(VENV)/.lint
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

demo: install
	$(VENV)/bin/sla-exporter demo

run: install
	$(VENV)/bin/sla-exporter run --config.file $(CONFIG)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache .mypy_cache
