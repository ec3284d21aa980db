# cognito-tenant-triggers: developer and CI entry points. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

CARGO       ?= cargo
# Extra cargo flags for build/clippy/test/bench; CI passes --locked.
CARGO_FLAGS ?=
PYTHON      ?= python3
VENV        := .venv
VENV_STAMP  := $(VENV)/.tools-requirements.stamp
# Target architecture of `make package` (cargo lambda build): arm64 or x86_64.
ARCH        ?= arm64
FUNCTIONS   := pre-signup post-confirmation pre-token-generation
# Project-local tools built with cargo (cargo-fuzz), kept out of ~/.cargo.
TOOLS       := .tools
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ  := $(TOOLS)/bin/cargo-fuzz
# make fuzz: seconds per fuzz target, and how many times their default cases the property
# tests run (400: over a million cases in all).
FUZZ_SECONDS   ?= 600
PROPTEST_SCALE ?= 400
# make load: invocations per function.
LOAD_INVOCATIONS ?= 1000

# Local runs never talk to AWS: a region, dummy credentials, no instance-metadata probing
# (without these the SDK spends seconds on IMDS before failing).
LOCAL_AWS_ENV := env -u AWS_PROFILE -u AWS_SESSION_TOKEN \
	AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	AWS_EC2_METADATA_DISABLED=true \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

.PHONY: help venv build fmt fmt-check clippy lint-infra test ci bench fuzz load package demo clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

# ------------------------------------------------------------------ tools (.venv)
# Re-installed only when tools-requirements.txt changes (or the venv is broken/missing).
$(VENV_STAMP): tools-requirements.txt
	@if ! $(VENV)/bin/python -c 'import sys' >/dev/null 2>&1; then \
	  rm -rf $(VENV); \
	  echo "creating $(VENV)"; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	$(VENV)/bin/python -m pip install --disable-pip-version-check --quiet -r tools-requirements.txt
	@touch $@

venv: $(VENV_STAMP) ## install moto[server], cargo-lambda, cfn-lint into .venv

$(CARGO_FUZZ):
	$(CARGO) install --root $(TOOLS) --locked --version $(CARGO_FUZZ_VERSION) cargo-fuzz

# ------------------------------------------------------------------ Rust
build: ## cargo build of every binary (debug)
	$(CARGO) build --workspace --bins $(CARGO_FLAGS)

fmt: ## cargo fmt (rewrite)
	$(CARGO) fmt --all

fmt-check: ## cargo fmt --check
	$(CARGO) fmt --all -- --check

clippy: ## clippy on all targets, warnings are errors
	$(CARGO) clippy --workspace --all-targets $(CARGO_FLAGS) -- -D warnings

lint-infra: venv ## cfn-lint infra/template.yaml (SAM transform included), informational rules too
	$(VENV)/bin/cfn-lint --include-checks I -- infra/template.yaml

# The binaries are built first so that end-to-end tests starting `cargo lambda watch`
# find them compiled (watch runs `cargo run --bin <function>` on the first invocation).
test: venv build ## cargo test --workspace, with moto_server and cargo-lambda from .venv
	$(LOCAL_AWS_ENV) \
	  CARGO_LAMBDA=$(CURDIR)/$(VENV)/bin/cargo-lambda \
	  $(CARGO) test --workspace $(CARGO_FLAGS)

ci: fmt-check clippy lint-infra test ## everything CI runs (.ci/run)

# ------------------------------------------------------------------ robustness (docs/reliability.md)
# Nightly for cargo-fuzz only (fuzz/ is outside the workspace); everything else stays stable.
fuzz: venv $(CARGO_FUZZ) ## fuzz each trigger FUZZ_SECONDS (nightly), then property tests x PROPTEST_SCALE; prints counts
	$(LOCAL_AWS_ENV) FUZZ_SECONDS=$(FUZZ_SECONDS) PROPTEST_SCALE=$(PROPTEST_SCALE) \
	  bash scripts/fuzz.sh

load: venv ## LOAD_INVOCATIONS concurrent invocations per function against moto; throughput, p50/p99
	$(LOCAL_AWS_ENV) LOAD_INVOCATIONS=$(LOAD_INVOCATIONS) \
	  $(CARGO) test --profile props -p integration-tests --test load $(CARGO_FLAGS) -- --ignored --nocapture

# ------------------------------------------------------------------ performance and size
bench: venv ## criterion benchmarks of tenant-lookup, release binary sizes, peak memory of one invocation
	$(CARGO) bench -p tenant-lookup --bench handler $(CARGO_FLAGS)
	@echo; echo "handler medians (parse -> resolve -> render, warm cache, in-memory directory):"
	@$(PYTHON) -c 'import glob, json, os; \
	  [print("  %-36s %8.2f us" % (os.path.relpath(os.path.dirname(os.path.dirname(f)), "target/criterion"), \
	         json.load(open(f))["median"]["point_estimate"] / 1000)) \
	   for f in sorted(glob.glob("target/criterion/*/new/estimates.json"))]'
	$(CARGO) build --release --workspace --bins $(CARGO_FLAGS)
	@meta=$$($(CARGO) metadata --no-deps --format-version 1); \
	dir=$$($(PYTHON) scripts/summarize.py target-dir <<<"$$meta")/release; \
	tmp=$$(mktemp); trap 'rm -f "$$tmp"' EXIT; \
	echo; echo "release binaries (host, $$(uname -m)); profile.release strips already:"; \
	printf '  %-24s %12s %12s\n' binary bytes stripped; \
	for b in $$($(PYTHON) scripts/summarize.py bins <<<"$$meta"); do \
	  [[ -x $$dir/$$b ]] || continue; \
	  strip -o "$$tmp" "$$dir/$$b"; \
	  printf '  %-24s %12s %12s\n' "$$b" "$$(stat -c %s "$$dir/$$b")" "$$(stat -c %s "$$tmp")"; \
	done
	@echo; echo "peak memory (release build under cargo lambda watch --release, moto, seed imported):"
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/measure_memory.sh

# cargo lambda build cross-compiles with zig (the ziglang wheel that cargo-lambda's PyPI
# package depends on, found through .venv/bin/python3 on PATH).
package: venv ## cargo lambda build --release (ARCH=arm64|x86_64): target/lambda/<function>/bootstrap
	@pkgs=""; for f in $(FUNCTIONS); do [[ -d crates/$$f ]] && pkgs+=" -p $$f"; done; \
	[[ -n $$pkgs ]] || { echo "no function crates yet"; exit 1; }; \
	set -x; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CARGO) lambda build --release \
	  --$(if $(filter x86_64,$(ARCH)),x86-64,arm64) $$pkgs $(CARGO_FLAGS)
	@for f in target/lambda/*/bootstrap; do printf '  %-40s %10s bytes\n' "$$f" "$$(stat -c %s "$$f")"; done

# ------------------------------------------------------------------ local demo
demo: venv build ## moto + cargo lambda watch + every event in events/, summarized
	bash scripts/demo.sh

clean: ## cargo clean, demo logs, sam build output, fuzz builds (keeps .venv and .tools)
	$(CARGO) clean
	rm -rf .demo infra/.aws-sam fuzz/target

distclean: clean ## clean, and remove .venv and .tools too
	rm -rf $(VENV) $(TOOLS)
