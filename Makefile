# The two set-up commands of the README: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

PYATOA_VENV ?= .venv-pyatoa

.PHONY: demo test bench clean pyatoa-env

$(VENV)/.installed: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)

demo: $(VENV)/.installed
	PYSPARK_PYTHON=$(abspath $(PY)) $(VENV)/bin/spark-seis demo --workdir demo_output

# Pyatoa 0.4.2 in its own numpy<2 venv, for tests/test_interop_pyatoa.py only
# (never a runtime dependency); idempotent, instant once built.
pyatoa-env: $(VENV)/.installed
	OURS_PYTHON=$(abspath $(PY)) bash scripts/pyatoa_env.sh $(abspath $(PYATOA_VENV))

test: $(VENV)/.installed pyatoa-env
	SPARK_SEIS_PYATOA_PYTHON=$(abspath $(PYATOA_VENV))/bin/python \
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) -m pytest -q

bench: $(VENV)/.installed
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) bench/run_all.py

clean:
	rm -rf demo_output .pytest_cache
