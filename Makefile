# Two commands do everything on a fresh machine with Python 3.11+ and Node 20:
#   make dev    run the app locally (embedded DynamoDB/S3, local token issuer, offline model)
#   make test   lint, type-check, and run every test (unit, integration, infrastructure)
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export UV_PYTHON ?= 3.11

.PHONY: setup test lint typecheck pytest dev token chat bench synth layer

$(UV):
	python3 -m pip install --user --quiet "uv==0.13.8" || python3 -m pip install --quiet "uv==0.13.8"

setup: $(UV)
	$(UV) sync --locked
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; fi

lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: setup
	$(UV) run mypy

pytest: setup
	$(UV) run pytest -q -p no:cacheprovider

test: lint typecheck pytest

dev: $(UV)
	$(UV) sync --locked
	$(UV) run task-assistant-dev

token: $(UV)
	$(UV) run task-assistant-token $(USER_NAME)

chat: $(UV)
	$(UV) run task-assistant-chat

bench: setup
	$(UV) run python bench/store_bench.py

# --- deployment (CDK; see README "Deploy") ----------------------------------------------------
CDK_ENV ?= dev
ARCH ?= arm64
.PHONY: bench-cold

# The dependencies layer for Lambda (python3.13, $(ARCH)) without Docker: layers/build/$(ARCH)/.
layer: setup
	$(UV) run python layers/build.py --arch $(ARCH)

# CloudFormation for one environment into cdk.out/ (offline; pinned CDK CLI from package-lock.json).
synth: layer
	npx --no-install cdk synth -c env=$(CDK_ENV) -c architecture=$(ARCH) --no-notices --quiet

# Cold start of each entry point and the layer size on this machine.
bench-cold: setup
	$(UV) run python bench/layer_size.py --arch $(ARCH)
	$(UV) run python bench/cold_start.py
