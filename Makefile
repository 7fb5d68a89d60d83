# musicgen — the two commands a newcomer needs:
#   make demo   install everything into .venv, prepare the folk corpus, train the demo model
#   make test   install everything into .venv, then run the test suite
#
# torch is installed first and on its own so that you choose its build:
#   make test TORCH_SPEC="torch==2.13.0"                         (default, CPU wheel)
#   make test TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
# The project itself only asks for torch>=2.2, which the installed build satisfies.

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

PY    := $(VENV)/bin/python
STAMP := $(VENV)/.musicgen-installed

.PHONY: install test demo lint format bench clean

install: $(STAMP)

# Re-install when the dependency list changes; the stamp records a finished install.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(TORCH_SPEC)
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# Prepare the embedded folk corpus, train the demo model (about five minutes on a 2-core
# CPU; W&B logs offline unless you have credentials), then continue a held-out folk tune.
demo: install
	$(VENV)/bin/musicgen-prepare data=folk
	$(VENV)/bin/musicgen-train experiment=demo
	$(VENV)/bin/musicgen-sample ckpt=last prompt=heldout prompt_bars=4 n_samples=2 \
	    max_bars=8 out_dir=outputs/demo_samples

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) bench/parse.py
	$(PY) bench/train.py

clean:
	rm -rf outputs wandb .pytest_cache build dist *.egg-info
