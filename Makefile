# Developer entry points. `make test` is what CI runs (.ci/run); it needs only python3 >= 3.11.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test install clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
