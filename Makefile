# One command to run, one to test. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
RASA := .venv/bin/rasa
# Rasa's training cache outside the checkout (see scripts/test.sh).
export RASA_CACHE_DIRECTORY ?= $(HOME)/.cache/shop-assistant/rasa

.PHONY: venv web train run chat test test-cluster lint validate bench bench-crowd run-cluster knowledge clean demo-data report

venv:
	@scripts/setup_venv.sh

# The web pages (web chat, desk, dashboard, trainer review) and the Debian packages they need.
web:
	@scripts/setup_web.sh

# Trains models/shop.tar.gz, or copies the model trained before on the same inputs.
train: venv
	@scripts/train.sh

run: train web
	$(PY) scripts/stack.py

# Ingest the shop's documents (knowledge/docs, or KNOWLEDGE_DOCS); `make run` does it too.
knowledge: venv
	$(PY) -m knowledge ingest

chat: venv
	$(PY) scripts/chat.py $(if $(SENDER),--sender $(SENDER))

lint: venv
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports

validate: venv
	$(RASA) data validate --fail-on-warnings

test: venv
	scripts/test.sh

# The cluster's fault tests (docs/scale.md): a Rasa instance killed, Redis restarted, RabbitMQ cut ...
test-cluster: train web
	.venv/bin/python -m pytest -m cluster tests/scale -q

bench: train
	$(PY) scripts/bench.py $(BENCH_ARGS)

# 1,000 customers (CROWD), think time 10-30 s, two minutes (docs/scale.md).
bench-crowd: train
	$(PY) scripts/bench.py --crowd $(or $(CROWD),1000) --target $(or $(TARGET),single)

# Two Rasa instances and two action servers behind nginx, PostgreSQL, Redis, RabbitMQ
# (docs/scale.md); everything by environment variables.
run-cluster: train
	$(PY) scripts/cluster.py

# A simulated normal week and promotion week through the running bot (see docs/analytics.md).
demo-data: venv web
	$(PY) -m analytics simulate

# The weekly report of a full week: make report WEEK=2026-W48
report: venv web
	$(PY) -m analytics report --week $(WEEK)

clean:
	rm -rf var results .rasa models/*.tar.gz
