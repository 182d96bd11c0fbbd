# The project's commands. `make test` runs every test; `make demo` runs the local demo.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: test unit e2e lint-template lint fmt build venv checkov sam clean demo local-up local-down bench bench-fleet bench-catalog bench-sync

## Every test: unit and handler tests, state machine checks, template lint, and the
## end-to-end scenarios on the local stack.
test: venv unit lint-template e2e

## A tenant backup end to end on the local stack; the last line is a JSON summary.
demo: venv
	@scripts/demo.sh

## The local stack: moto, redis-server (installed if missing), cargo lambda watch and the front
## server (prints the endpoint URL).
local-up: venv
	@scripts/local-up.sh

local-down:
	@scripts/local-down.sh

e2e: venv
	scripts/e2e.sh

unit: venv checkov
	cargo test --workspace --locked
	cd tests/iam && ../../$(PY) -m unittest -q
	@# The data stacks: the policy-as-code rules (data/policies) pass, and fail on broken copies.
	cd tests/data && ../../$(PY) -m unittest -q

## Every template: cfn-lint, and `sam validate --lint` (offline: a region, no credentials).
TEMPLATES := template.yaml $(wildcard data/*.yaml)
lint-template: venv sam
	$(VENV)/bin/cfn-lint $(TEMPLATES)
	for t in $(TEMPLATES); do \
	  SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint --template-file $$t || exit 1; \
	done

## Formatting and clippy, warnings as errors; checkov on the template (every check passes or
## is skipped inline with its reason).
lint: checkov
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy -p bbws-tests --features e2e --all-targets --locked -- -D warnings
	@# Each function alone, so bbws is linted with only the sdk-* features that function takes.
	for f in $(FUNCTIONS); do cargo clippy -p $$f --locked -- -D warnings || exit 1; done
	@# --skip-download and BC_SKIP_MAPPING: checkov reads nothing from the network.
	@# Every template, with the project's own rules (data/policies: the seeds' data settings).
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov $(addprefix --file ,$(TEMPLATES)) --framework cloudformation --quiet --compact --skip-download --external-checks-dir data/policies

fmt:
	cargo fmt --all

FUNCTIONS := $(notdir $(wildcard functions/*))

## Release zips for Lambda (arm64), as SAM's cargo-lambda build makes them (minutes: LTO).
build: venv
	rustup target add aarch64-unknown-linux-gnu
	@# One function at a time: built together, the functions would share one build of bbws
	@# with every sdk-* feature on, and link SDK clients they never call.
	for f in $(FUNCTIONS); do \
	  $(VENV)/bin/cargo-lambda lambda build --release --arm64 --output-format zip -p $$f || exit 1; \
	done
	@for f in $(FUNCTIONS); do printf '%-18s %s bytes\n' $$f $$(stat -c %s target/lambda/$$f/bootstrap.zip); done

## Start-up figures per function: init time and peak RSS against a local Runtime API stub,
## beside a Python/boto3 peer, and the zip sizes `make build` left. Not part of `make test`.
## BENCH_PROFILE=dev measures debug builds; BENCH_FUNCTIONS="a b" limits the set;
## BENCH_RUNS (default 20) sets the runs per median; BENCH_COLD=1 also times a fresh-clone
## `make demo` (about ten minutes).
BENCH_PROFILE ?= release
BENCH_FUNCTIONS ?= $(FUNCTIONS)
bench: venv
	for f in $(BENCH_FUNCTIONS); do cargo build --locked --profile $(BENCH_PROFILE) -p $$f || exit 1; done
	BENCH_PROFILE=$(BENCH_PROFILE) BENCH_FUNCTIONS="$(BENCH_FUNCTIONS)" $(PY) bench/bench.py

## The fleet backup at scale on the local stack (its own, started and stopped here) with
## jobs lasting a second: fleets of 100 and 1,000 tenants; wall time, state transitions,
## the largest execution history, backup jobs, cost per tenant, and how transitions per
## tenant scale with the polling settings. Not part of `make test`. BENCH_FLEETS="100 1000",
## BENCH_PAGE_SIZE (100) and BENCH_MAX_CONCURRENCY (50) change the runs.
bench-fleet: venv
	BACKUP_SECONDS=$${BACKUP_SECONDS:-1} $(PY) bench/fleet.py

## The catalog at 10,000 backups of one tenant on the local stack (its own, started and
## stopped here): `bbws backups --limit 20`, one backup in detail, and the restore's lookup
## (the restore function's plan step), each with its wall time and AWS call count, from the
## front server's record of calls. Not part of `make test`. BENCH_ITEMS (10000) changes it.
bench-catalog: venv
	cargo build --locked --release -p bbws-cli
	$(PY) bench/catalog.py

## The content sync on the local stack (its own, started and stopped here): 10,000 small
## files and one 200 MB file, each synced twice (everything, then nothing changed); wall
## time, files/s, MB/s and sync-content's AWS calls per file, from the front server's record
## of calls. Not part of `make test`. BENCH_SMALL_FILES (10000) and BENCH_LARGE_MB (200)
## change the runs.
bench-sync: venv
	$(PY) bench/sync.py

## The project-local Python tools (cfn-lint, moto, cargo-lambda), installed once.
venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## checkov, pinned, in a venv of its own: its dependencies must not move moto's.
CHECKOV_VENV := .venv-checkov
checkov: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

## SAM CLI, pinned, in a venv of its own (for `sam validate`).
SAM_VENV := .venv-sam
sam: $(SAM_VENV)/.installed

$(SAM_VENV)/.installed: requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

clean:
	cargo clean
	rm -rf $(VENV) $(CHECKOV_VENV) $(SAM_VENV)
