# Everything a fresh machine needs comes from here: `make run`, `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUN_VERSION := 1.4.4
TOOLS := .tools
BUN_DIR := $(TOOLS)/bun
CHROMIUM := /usr/bin/chromium
# Where the statically exported frontend sends its requests (`make export`).
API_URL ?= http://localhost:8000

# Reflex downloads bun from the internet, which is closed here; the npm
# registry has it, so we install it into the repo and point Reflex at it.
BUN := $(CURDIR)/$(BUN_DIR)/node_modules/.bin/bun
export REFLEX_BUN_PATH = $(BUN)
export REFLEX_TELEMETRY_ENABLED = false
export REFLEX_CHECK_LATEST_VERSION = false
export PYTHONUNBUFFERED = 1

.PHONY: run test js-test export setup venv bun chromium netlab-tools node-client migrate i18n clean bench soak

setup: venv bun migrate i18n

# The .mo files the server reads and assets/ephem/locales/*.json for the
# browser, both compiled from ephem/i18n/locales/*/LC_MESSAGES/ephem.po.
i18n: venv
	$(PY) -m ephem.i18n compile >/dev/null

# Installs again when requirements.txt's content changes, not its time:
# Reflex touches the file on its first start.
venv:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@cmp -s requirements.txt $(VENV)/.requirements.txt || { \
	  $(PY) -m pip install --quiet --upgrade pip && \
	  $(PY) -m pip install --quiet -r requirements.txt && \
	  cp requirements.txt $(VENV)/.requirements.txt; }

bun: $(BUN_DIR)/.installed

$(BUN_DIR)/.installed:
	mkdir -p $(BUN_DIR)
	cd $(BUN_DIR) && npm install --no-audit --no-fund --loglevel=error bun@$(BUN_VERSION)
	$(BUN) --version
	touch $@

chromium:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian Chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The network lab (tests/netlab) builds networks with nftables and runs coturn.
# Debian's coturn package would start a system service; nothing here starts
# it (no systemd), and the lab runs its own turnserver inside a namespace.
netlab-tools:
	@command -v nft >/dev/null && command -v turnserver >/dev/null || { \
	  echo "Installing nftables and coturn for the network lab"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables coturn >/dev/null; }

# The reference socket.io-client, for the Node interop test.
node-client: tests/node/node_modules/.installed

tests/node/node_modules/.installed: tests/node/package.json
	cd tests/node && npm install --no-audit --no-fund --loglevel=error
	touch $@

migrate: venv
	$(PY) -m ephem.core.migrations

run: setup
	$(VENV)/bin/reflex run

# The browser modules' unit tests: Node's own runner, no packages. Its summary
# (# tests, # pass, # fail) ends the output, and a failure stops `make test`.
js-test:
	node --test tests/js/

test: setup chromium netlab-tools node-client js-test
	$(VENV)/bin/pytest

# Benchmarks (not part of `make test`): each script prints its figures and
# writes bench/results/*.csv and *.png; bench/README.md has the latest numbers.
bench: setup chromium
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) -m pyflakes bench
	$(PY) bench/matchmaking.py --profile
	$(PY) bench/connections.py
	$(PY) bench/signaling.py --profile
	$(PY) bench/peers.py
	$(PY) bench/relay.py
	$(PY) bench/browser.py
	$(PY) bench/files.py --runs 2

# Ten minutes of 2,000 clients coming and going (bench/churn.py): memory flat, no error.
soak: setup
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) bench/churn.py

# The frontend as static files for any file server; the backend URL is baked
# in, so export once per deployment. It rewrites .web: restart `make run` after.
export: setup
	REFLEX_API_URL=$(API_URL) $(VENV)/bin/reflex export --frontend-only --no-zip
	@echo "Static site for $(API_URL): $(CURDIR)/.web/build/client/"

clean:
	rm -rf $(VENV) $(TOOLS) .web .states
