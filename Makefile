# The two set-up commands of the README: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean

$(VENV)/.installed: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)

demo: $(VENV)/.installed
	PYSPARK_PYTHON=$(abspath $(PY)) $(VENV)/bin/spark-seis demo --workdir demo_output

test: $(VENV)/.installed
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) -m pytest -q

bench: $(VENV)/.installed
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) bench/run_all.py

clean:
	rm -rf demo_output .pytest_cache
