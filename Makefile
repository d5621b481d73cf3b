# One command to run, one to test. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
RASA := .venv/bin/rasa

.PHONY: venv webchat train run chat test lint validate bench knowledge clean run-cluster bench-crowd

venv:
	@scripts/setup_venv.sh
	@scripts/setup_trainer_web.sh
	@scripts/setup_web.sh

# The customer web chat page and widget (npm ci && npm run build in webchat/), chromium and fonts.
webchat:
	@scripts/setup_webchat.sh

# `rasa train` itself detects an unchanged project and keeps the existing model.
train: venv
	$(RASA) train --fixed-model-name shop --out models --augmentation 0

run: train webchat
	$(PY) scripts/stack.py

# Ingest the shop's documents (knowledge/docs, or KNOWLEDGE_DOCS); `make run` does it too.
knowledge: venv
	$(PY) -m knowledge ingest

chat: venv
	$(PY) scripts/chat.py $(if $(SENDER),--sender $(SENDER))

lint: venv
	.venv/bin/ruff check .

validate: venv
	$(RASA) data validate --fail-on-warnings

test: venv webchat
	scripts/test.sh

bench: train
	$(PY) scripts/bench.py $(BENCH_ARGS)

# 1,000 customers (CROWD), think time 10-30 s, two minutes (docs/scale.md).
bench-crowd: train
	$(PY) scripts/bench.py --crowd $(or $(CROWD),1000) --target $(or $(TARGET),single)

# Two Rasa instances and two action servers behind nginx, PostgreSQL, Redis, RabbitMQ
# (docs/scale.md); everything by environment variables.
run-cluster: train
	$(PY) scripts/cluster.py

clean:
	rm -rf var results .rasa models/*.tar.gz
