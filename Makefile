# Two commands do everything on a fresh machine with Python 3.11+ and Node.js (22 or 24 LTS; 20 works):
#   make dev    run the app locally (embedded DynamoDB/S3, local token issuer, offline model)
#   make test   lint, type-check, and run every test (unit, integration, infrastructure, browser)
# Every recipe reaches uv through scripts/uv, which installs a project-local copy (.tools/) when
# none is found: nothing here depends on PATH or on pip being allowed to touch the system Python.
SHELL := /bin/bash
UV := $(CURDIR)/scripts/uv
export UV_PYTHON ?= 3.11
# The CDK CLI's 12-line end-of-life banner on Node 20 says nothing a user can act on mid-build.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Node bundles its own CA list; let it also trust the system's (a TLS-inspecting proxy's CA lives there).
ifeq ($(origin NODE_EXTRA_CA_CERTS),undefined)
SYSTEM_CA_BUNDLE := $(wildcard /etc/ssl/certs/ca-certificates.crt)
ifneq ($(SYSTEM_CA_BUNDLE),)
export NODE_EXTRA_CA_CERTS := $(SYSTEM_CA_BUNDLE)
endif
endif
PORT ?= 8000
USER_NAME ?= dev
CDK_ENV ?= dev
ARCH ?= arm64

.PHONY: setup sync test lint fmt typecheck pytest browser dev token chat bench synth deploy layer lwa-layer bench-cold bench-snapstart

sync:
	@$(UV) sync --locked --quiet

setup: sync
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; fi

lint: setup
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .

fmt: sync
	$(UV) run --no-sync ruff check --fix .
	$(UV) run --no-sync ruff format .

typecheck: setup
	$(UV) run --no-sync mypy

# Headless Chromium for the browser tests (Debian's package; Playwright cannot download browsers here).
browser:
	@scripts/ensure-chromium

pytest: setup browser
	$(UV) run --no-sync pytest -q -p no:cacheprovider

test: lint typecheck pytest

dev: sync
	@$(UV) run --no-sync task-assistant-dev --port $(PORT)

# Prints the token and nothing else, so TOKEN=$$(make -s token USER_NAME=alice) works.
token: sync
	@$(UV) run --no-sync task-assistant-token $(USER_NAME)

chat: sync
	@$(UV) run --no-sync task-assistant-chat --url http://127.0.0.1:$(PORT) --local-user $(USER_NAME)

bench: setup
	$(UV) run --no-sync python bench/store_bench.py

# --- deployment (CDK; see docs/deploy.md) ------------------------------------------------------

# The dependencies layer for Lambda (python3.13, $(ARCH)) without Docker: layers/build/$(ARCH)/.
layer: setup
	$(UV) run --no-sync python layers/build.py --arch $(ARCH)

# CloudFormation for one environment into cdk.out/ (offline; pinned CDK CLI from package-lock.json).
synth: layer
	npx --no-install cdk synth -c env=$(CDK_ENV) -c architecture=$(ARCH) --no-notices --quiet

# The Web Adapter layer version for a region the data lacks (any AWS credentials; reads public layers).
lwa-layer: setup
	@test -n "$(REGION)" || { echo "usage: make lwa-layer REGION=<region> [ARCH=arm64|x86_64]" >&2; exit 2; }
	$(UV) run --no-sync python cdk/lwa_layer.py --region $(REGION) --arch $(ARCH)

# Cold start of each entry point and the layer size on this machine.
bench-cold: setup
	$(UV) run --no-sync python bench/layer_size.py --arch $(ARCH)
	$(UV) run --no-sync python bench/cold_start.py

# Deploy one environment without prompts (CI, scripts): --require-approval never accepts the IAM and
# public-URL changes a first deploy brings; review them with `npx cdk diff` first. Needs credentials.
deploy: layer
	npx --no-install cdk deploy -c env=$(CDK_ENV) -c architecture=$(ARCH) --require-approval never \
	  --outputs-file cdk-outputs-$(CDK_ENV).json

# The first ChatKit turn with and without the SnapStart hooks (docs/benchmarks.md).
bench-snapstart: setup
	$(UV) run --no-sync python bench/snapstart_bench.py
