# Deep Learning Architectures in Practice — every command a learner, instructor or CI needs.
#   make course   create the environment if missing, execute every notebook, print the scoreboard
#                 (every notebook of course_lib/catalogue.py; a subset: NOTEBOOKS="notebooks/01_foundations.ipynb")
#   make test     unit tests + every notebook under nbval + ledger quality checks, then test-offline
#   make test-offline  every notebook on its offline stand-ins (no network, no mirror) + ledger checks
#   make lab      open JupyterLab in the course environment (LAB_ARGS="--no-browser --port=8899" passes options on)
#   make site     build the course website into build/site from the executed notebooks of make course
#   make progress show which exercises you have solved, per notebook (read from results/progress.jsonl)
#   make bench    execute every notebook, measure wall time and peak RAM into docs/benchmarks.md
#   make scaling  measure how each domain's pipeline time grows with data size into docs/scaling.md
#   make assignments  generate student + autograder versions of assignments/ into build/assignments
#   make glossary rebuild docs/glossary.md from docs/glossary.d/*.md
#   make grade SUBMISSIONS=<folder>  grade <folder>/<assignment>/<student>.ipynb into build/grades

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Empty: every notebook of course_lib/catalogue.py whose file exists. A subset: make course NOTEBOOKS="notebooks/01_foundations.ipynb".
NOTEBOOKS ?=
# Where pip finds a CPU-only torch; without it pip on Linux takes the CUDA build (gigabytes).
# Set it empty where pip already has a local CPU wheel (as CI does).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_INDEX_ARG := $(if $(strip $(TORCH_INDEX)),--extra-index-url $(TORCH_INDEX),)

.PHONY: install course test test-offline test-site unit lab bench sync lock clean help assignments grade glossary scaling site progress
.DEFAULT_GOAL := help

help:
	@sed -n 's/^#   //p' Makefile

install: $(STAMP)

# torch goes first and alone, at the version constraints.txt pins (the one place it is written):
# with the CPU build in place nothing later pulls a CUDA build.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check $(TORCH_INDEX_ARG) -c constraints.txt torch
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	$(PY) tools/check_environment.py
	@touch $@

course: install
	$(PY) tools/run_notebooks.py --out build/executed $(NOTEBOOKS)

bench: install
	$(PY) tools/run_notebooks.py --out build/executed --bench docs/benchmarks.md $(NOTEBOOKS)

# Generated, never hand-edited: docs/scaling.md and docs/scaling.json (about 4 min on 2 CPU cores;
# run it on a quiet machine, other processes inflate the seconds). One domain: SCALING_ARGS="--domains text".
scaling: install
	$(PY) tools/scaling.py --out docs/scaling.md $(SCALING_ARGS)

# pytest exits with 5 when it collected nothing: that is a failure here, not a pass.
# Pass 1: unit tests, every notebook under nbval and the ledger tests, in this environment (with
# the data mirror where CI names one). Pass 2 (test-offline): the path of a learner with no network
# and no mirror — every notebook again on its stand-ins, then the ledger tests on what they wrote.
# Pass 1 also keeps each notebook as it executed (COURSE_SAVE_EXECUTED, tests/conftest.py) in
# build/executed, the folder make course writes: test-site builds the website from those copies
# instead of executing every notebook a third time.
test: install
	@COURSE_REQUIRE_LEDGER=1 COURSE_SAVE_EXECUTED="$(CURDIR)/build/executed" $(PY) -m pytest --durations=25 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi
	@$(MAKE) --no-print-directory test-offline
	@$(MAKE) --no-print-directory test-site

OFFLINE_DIR := $(CURDIR)/build/offline
test-offline: install
	@rm -rf "$(OFFLINE_DIR)" && mkdir -p "$(OFFLINE_DIR)/data"
	@echo "make test: offline pass (COURSE_OFFLINE=1, no mirror, empty cache $(OFFLINE_DIR)/data)"
	@env -u COURSE_DATA_MIRROR COURSE_OFFLINE=1 COURSE_DATA_DIR="$(OFFLINE_DIR)/data" \
	  COURSE_RESULTS_DIR="$(OFFLINE_DIR)/results" COURSE_REQUIRE_LEDGER=1 \
	  $(PY) -m pytest notebooks tests/test_ledger_*.py $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-offline: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The website built from build/executed, then tested in headless Chromium (the system's browser):
# every page, figure and internal link, and JupyterLab itself running notebook 00.
test-site: site
	@COURSE_BROWSER_TESTS=1 $(PY) -m pytest tests/browser -p no:nbval -o addopts="-p no:cacheprovider -ra" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-site: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# Offline: Sphinx + MyST-NB + sphinx-book-theme from the course environment, nothing downloaded.
site: install
	$(PY) tools/build_site.py --executed build/executed --out build/site

progress: install
	@$(PY) -m course_lib.progress

unit: install
	$(PY) -m pytest tests -p no:nbval -o addopts="" -q

lab: install
	$(VENV)/bin/jupyter lab notebooks/ $(LAB_ARGS)

sync: install
	$(PY) tools/sync_notebooks.py

# The glossary is generated: edit docs/glossary.d/*.md (one fragment per notebook), never docs/glossary.md.
glossary:
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) tools/glossary.py

lock: install
	@{ echo "# Versions tested together (pip freeze of the course environment, Python 3.11, CPU)."; \
	   echo "# Regenerate with: make lock"; \
	   $(PY) -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.txt

# Student versions are generated, never hand-edited: see assignments/README.md.
assignments: install
	$(PY) assignments/tools/build.py $(ASSIGNMENTS)

GRADE_TIMEOUT ?= 120
grade: install
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder of <assignment>/<student>.ipynb>" >&2; exit 2; }
	@test -d build/assignments || $(MAKE) --no-print-directory assignments
	$(PY) assignments/tools/grade.py "$(SUBMISSIONS)" --timeout $(GRADE_TIMEOUT)

clean:
	rm -rf build results .pytest_cache
