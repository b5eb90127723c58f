# 小智客服 — all set-up and checks go through these targets.  `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
RASA    := $(VENV)/bin/rasa
MODEL   := models/xiaozhi.tar.gz
SPACY   := models/spacy_zh/meta.json
DATA    := $(shell find data -type f -not -name '.*' 2>/dev/null)
PYTHON310 := $(shell scripts/find_python310.sh)

export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONHASHSEED := 0
export RASA_TELEMETRY_ENABLED := false

.PHONY: help install spacy train run actions shell rasa-token validate test test-py test-pg test-redis test-e2e test-browser test-nlu test-stories test-scaled eval bench bench-channels wechat-menu bench-tickets bench-handoff reset-demo clean lint desk chromium test-fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "Python 3.10 is required (Rasa 3.6 supports 3.8–3.10) and none was found."; \
	  echo "Install it, e.g. 'pyenv install 3.10.13' or your distribution's python3.10 package, then run make again."; \
	  exit 1; fi
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then rm -rf $(VENV); fi
	@[ -x $(PY) ] || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

install: $(VENV)/.installed ## create .venv (Python 3.10) and install the pinned requirements

$(SPACY): $(wildcard data/lookups/*.yml) $(wildcard data/jieba/*) scripts/build_spacy_model.py | $(VENV)/.installed
	$(PY) scripts/build_spacy_model.py --out models/spacy_zh

spacy: $(SPACY) ## build the Chinese spaCy pipeline from data/lookups (no download)

$(MODEL): config.yml domain.yml $(DATA) $(SPACY) | $(VENV)/.installed
	$(RASA) train --fixed-model-name xiaozhi --out models
	@touch $@

train: $(MODEL) ## train the Rasa model if the data changed since the last one

run: $(MODEL) web-deps ## start actions :5055, desk :5006 (agent console /console/) and Rasa :5005, embedded mode
	$(PY) scripts/run_embedded.py

# The chat widget's socket.io-client (web/widget.js) and the console's ECharts (报表), from the committed
# package-lock.json; the desk serves them.
.PHONY: web-deps
web-deps: node_modules/.package-lock.json ## install the widget's socket.io-client and the console's ECharts from package-lock.json (npm ci)

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for the chat widget (socket.io-client from package-lock.json):"; \
	  echo "install Node.js 18+ with npm (e.g. 'apt-get install -y nodejs npm'), then run make again"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

desk: $(VENV)/.installed ## start the staff desk API on :5006 (python -m desk)
	$(PY) -m desk

actions: $(VENV)/.installed ## start only the action server (127.0.0.1:5055, calls need ACTION_SERVER_TOKEN)
	$(PY) scripts/serve_actions.py --port 5055

# Both launchers read (or generate) the same var/ secrets; serve_rasa.py hands the action token to Rasa.
shell: $(MODEL) ## chat in the terminal (starts the action server in the background)
	@mkdir -p var; export XIAOZHI_TODAY=$${XIAOZHI_TODAY-2026-11-21}; \
	$(PY) scripts/serve_actions.py --port 5055 > var/actions.log 2>&1 & echo $$! > var/actions.pid; \
	trap 'kill $$(cat var/actions.pid)' EXIT; $(PY) scripts/serve_rasa.py shell --model $(MODEL) --endpoints endpoints.yml

rasa-token: $(VENV)/.installed ## print a 5-minute JWT for Rasa's HTTP API (curl -H "Authorization: Bearer <it>" …)
	@$(PY) -m desk.rasa_client

validate: $(VENV)/.installed ## rasa data validate, with form/action-uttered responses recognised
	$(PY) scripts/validate_data.py

# Lanes side by side (scripts/lanes.py): training runs on one core most of the time, so the checks that need no
# model share the machine with it; then the three suites that start servers, which mostly wait on them.
test: validate ## everything CI runs: checks beside training and rasa test, then e2e, browser and scaled side by side
	$(PY) scripts/lanes.py "test-py test-fuzz test-pg test-redis" "train test-nlu test-stories"
	@$(MAKE) --no-print-directory web-deps chromium nginx
	$(PY) scripts/lanes.py test-e2e test-browser test-scaled

UNIT := tests/unit -m "not postgres and not redis"

test-py: $(VENV)/.installed ## pytest: service rules, actions, channels, desk API (SQLite, in memory), in two processes
	$(PY) -m pytest -n 2 $(UNIT)

FUZZ_VENV := .venv-fuzz

$(FUZZ_VENV)/.installed: requirements-fuzz.txt
	@if [ -z "$(PYTHON310)" ]; then echo "Python 3.10 is required for $(FUZZ_VENV) and none was found."; exit 1; fi
	@[ -x $(FUZZ_VENV)/bin/python ] || $(PYTHON310) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/python -m pip install --quiet -r requirements-fuzz.txt
	@touch $@

test-fuzz: $(VENV)/.installed $(FUZZ_VENV)/.installed ## schemathesis + hostile input, ≥1,000 requests on every desk route, zero 5xx
	$(PY) -m tests.fuzz --st $(FUZZ_VENV)/bin/st

test-pg: $(VENV)/.installed ## the same rules against the machine's PostgreSQL (a database per test, dropped after)
	$(PY) -m pytest tests/unit -m postgres

test-redis: $(VENV)/.installed ## the shared handoff queue against the machine's Redis (a key prefix per test)
	$(PY) -m pytest tests/unit -m redis

test-e2e: $(MODEL) web-deps ## all processes running: a REST conversation, full handoffs (embedded and two desks on Redis)
	$(PY) -m pytest tests/e2e

test-scaled: $(MODEL) web-deps nginx ## the scaled topology as processes: through nginx, across servers, 50×20 customers, a server killed, faults
	$(PY) -m pytest tests/scaled/test_topology.py tests/scaled/test_load_faults.py -m scaled --durations=5

test-browser: chromium $(MODEL) web-deps ## the agent console and the chat widget in headless Chromium (Playwright)
	$(PY) -m pytest tests/browser -m browser

chromium: ## install Debian's Chromium and the Noto CJK fonts for the browser tests when missing (never `playwright install`)
	@{ command -v /usr/bin/chromium >/dev/null && dpkg -s fonts-noto-cjk >/dev/null 2>&1; } || { \
	  echo "installing chromium and fonts-noto-cjk (apt-get) for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	  || { echo "could not install them: run 'apt-get install -y chromium fonts-noto-cjk' as root"; exit 1; }; }

# The scaled topology as processes on loopback (scripts/scaled.py): nginx, two Rasa servers, the action server and two
# desks on the machine's PostgreSQL, Redis and RabbitMQ; deploy/docker-compose.yml is the same set as containers.
.PHONY: scaled-up scaled-down nginx
scaled-up: $(MODEL) web-deps nginx ## nginx :8080 → two Rasa servers, the action server, two desks (PostgreSQL, Redis, RabbitMQ)
	$(PY) scripts/scaled.py up

scaled-down: ## stop what make scaled-up started (from any shell: it reads the pid files under var/scaled/)
	$(PY) scripts/scaled.py down

nginx: ## install Debian's nginx for make scaled-up when missing (run as a child process, never as a service)
	@command -v /usr/sbin/nginx >/dev/null || { \
	  echo "installing nginx (apt-get) for make scaled-up"; \
	  (apt-get update -qq && apt-get install -y -qq nginx >/dev/null) \
	  || { echo "could not install it: run 'apt-get install -y nginx' as root"; exit 1; }; }

test-nlu: $(MODEL) ## rasa test nlu on tests/nlu; fails below intent macro-F1 0.95
	$(PY) scripts/rasa_cli.py test nlu --nlu tests/nlu --model $(MODEL) --out results/nlu
	$(PY) scripts/nlu_gate.py results/nlu/intent_report.json --min-macro-f1 0.95

test-stories: $(MODEL) ## rasa test core on tests/test_stories.yml; every story must pass
	$(PY) scripts/rasa_cli.py test core --stories tests/test_stories.yml --model $(MODEL) --out results/core --fail-on-prediction-errors

eval: $(MODEL) ## accuracy per intent on ../shared/eval (real customer utterances; measuring only)
	$(PY) scripts/eval_nlu.py --model $(MODEL)

bench: $(MODEL) ## bench/turns.py: turn vs parse latency at 8 concurrent customers
	$(PY) bench/turns.py

bench-channels: $(MODEL) ## bench/channels.py: WeChat passive-reply rate at 20 customers, agent reply relay time per channel
	$(PY) bench/channels.py

wechat-menu: $(VENV)/.installed ## set the WeChat Official Account's menu from wechat_menu.yml (add ARGS=--dry-run to see it)
	$(PY) -m connectors.wechat_menu $(ARGS)

bench-tickets: $(VENV)/.installed ## bench/tickets.py: ticket creations/s and desk list latency (SQLite, PostgreSQL)
	$(PY) bench/tickets.py

bench-handoff: $(MODEL) ## bench/handoff.py: relay latency both ways at 20 concurrent handoffs (embedded, Redis)
	$(PY) bench/handoff.py

.PHONY: bench-assist
bench-assist: $(VENV)/.installed ## bench/assist.py: agent assist top-1/top-3 hit rate, MRR, p50 latency; BM25 alone vs + encoder re-rank
	$(PY) bench/assist.py

lint: $(VENV)/.installed ## ruff and mypy
	$(VENV)/bin/ruff check actions service connectors desk handoff scripts bench tests
	$(VENV)/bin/mypy

reset-demo: $(VENV)/.installed ## restore the demo data (orders, refunds, …) to its seeded state
	$(PY) -c 'from service.backends.seed import reset; from service.db import make_engine; from service.settings import get_settings; reset(make_engine(get_settings().stub_backend_url)); print("demo data reset")'

clean: ## remove models, results and runtime data (not .venv)
	rm -rf models results var/*.db var/*.db-wal var/*.db-shm var/*.log
