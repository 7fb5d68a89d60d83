# musicgen — the two commands a newcomer needs:
#   make demo   install everything into .venv, prepare the folk corpus, train the demo model
#   make test   install everything into .venv, then run the test suite
#   make studio the local page (musicgen-studio) on the newest trained checkpoint
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
comma := ,
STAMP := $(VENV)/.musicgen-installed

.PHONY: install test demo studio lint format bench report clean

install: $(STAMP)

# Re-install when the dependency list changes; the stamp records a finished install.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(TORCH_SPEC)
	$(PY) -m pip install -e ".[dev,studio]"
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
	@echo ""
	@echo "That was the 5-minute demo model. A folk model trained for 55 minutes ships in the"
	@echo "package (docs/folk_model.md); try it with no training:"
	@echo "  $(VENV)/bin/musicgen-sample ckpt=folk prompt=heldout prompt_bars=4 n_samples=2 out_dir=outputs/folk_samples"
	@echo "  $(VENV)/bin/musicgen-eval ckpt=folk split=test n_samples=64"

# The local page on the newest trained checkpoint (make demo first): http://127.0.0.1:7860
studio: install
	$(VENV)/bin/musicgen-studio ckpt=last

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) bench/parse.py
	$(PY) bench/train.py

# The comparison report of docs/comparison/: the four music experiments and the two
# harmonisers (their own table: chord accuracy, Yeh et al. 2021 metrics), each trained for
# the same budget (REPORT_TIME, DD:HH:MM:SS, of one CPU core, two runs side by side on a 2-core
# machine, batches of 8 (windows or tunes), W&B off), then scored by musicgen-eval on
# their test splits. REPORT_TRAIN=0 re-scores the existing checkpoints.
REPORT_TIME    ?= 00:00:08:00
REPORT_TRAIN   ?= 1
REPORT_RUNS    := irish_lstm_lab irish_transformer folk_lstm folk_transformer \
                  nottingham_harmonize_lstm nottingham_harmonize_transformer
report: install
	mkdir -p outputs/report docs/comparison
	if [ "$(REPORT_TRAIN)" = 1 ]; then \
	  for pair in "irish_lstm_lab irish_transformer" "folk_lstm folk_transformer" \
	      "nottingham_harmonize_lstm nottingham_harmonize_transformer"; do \
	    for e in $$pair; do rm -rf outputs/report/$$e; \
	      OMP_NUM_THREADS=1 $(VENV)/bin/musicgen-train experiment=$$e logger=csv \
	        data.batch_size=8 trainer.max_time=$(REPORT_TIME) \
	        trainer.enable_progress_bar=false hydra.run.dir=outputs/report/$$e \
	        > outputs/report/$$e.log 2>&1 & \
	    done; wait; \
	    for e in $$pair; do test -f outputs/report/$$e/checkpoints/last.ckpt \
	      || { tail -5 outputs/report/$$e.log; exit 1; }; done; \
	  done; fi
	OMP_NUM_THREADS=2 $(VENV)/bin/musicgen-eval \
	    "ckpt=[$(subst $(eval) ,$(comma),$(foreach e,$(REPORT_RUNS),outputs/report/$(e)/checkpoints/last.ckpt))]" \
	    split=test n_samples=32 out=docs/comparison/metrics.json plots=docs/comparison/plots
	$(PY) scripts/comparison_report.py docs/comparison/metrics.json docs/comparison/README.md

clean:
	rm -rf outputs wandb .pytest_cache build dist *.egg-info
