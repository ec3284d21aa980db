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

# Local runs never talk to AWS: a region, dummy credentials, no instance-metadata probing
# (without these the SDK spends seconds on IMDS before failing).
LOCAL_AWS_ENV := env -u AWS_PROFILE -u AWS_SESSION_TOKEN \
	AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	AWS_EC2_METADATA_DISABLED=true \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# The local pool's Node.js parts (cognito-local, pinned in local-pool/package-lock.json).
NODE        ?= node
NPM         ?= npm
POOL_NPM_STAMP := local-pool/node_modules/.package-lock.stamp

.PHONY: help venv build fmt fmt-check clippy lint-infra test test-node ci bench bench-directory mutants package demo pool pool-deps clean distclean

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

# ------------------------------------------------------------------ local pool (Node.js)
# npm ci from the lockfile, no install scripts; again only when the lockfile changes.
$(POOL_NPM_STAMP): local-pool/package.json local-pool/package-lock.json
	cd local-pool && $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# Without Node.js this only says so: `make test` then skips the local pool's end-to-end test.
pool-deps: ## npm ci in local-pool/ (cognito-local), when Node.js is installed
	@if command -v $(NODE) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory $(POOL_NPM_STAMP); \
	else \
	  echo "pool-deps: Node.js not found: the local pool (make pool, its end-to-end test) needs it"; \
	fi

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
test: venv build pool-deps test-node ## cargo test --workspace (moto_server, cargo-lambda, cognito-local), the adapter's tests
	$(LOCAL_AWS_ENV) \
	  CARGO_LAMBDA=$(CURDIR)/$(VENV)/bin/cargo-lambda \
	  $(CARGO) test --workspace $(CARGO_FLAGS)

test-node: ## node --test local-pool/test/ (the Lambda adapter), when Node.js is installed
	@if command -v $(NODE) >/dev/null 2>&1; then \
	  $(NODE) --test local-pool/test/; \
	else \
	  echo "test-node: SKIPPED: Node.js not found"; \
	fi

ci: fmt-check clippy lint-infra test ## everything CI runs (.ci/run)

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

# The figures of README.md's "Administration at scale": tenantctl's import and export of
# SCALE_TENANTS tenants (default 1,000) with 10 members each, against moto on loopback.
bench-directory: venv build ## time tenantctl import/export of 1,000 tenants and 10,000 members against moto
	$(LOCAL_AWS_ENV) $(CARGO) test -p tenantctl --test scale $(CARGO_FLAGS) -- --ignored --nocapture

# cargo lambda build cross-compiles with zig (the ziglang wheel that cargo-lambda's PyPI
# package depends on, found through .venv/bin/python3 on PATH).
package: venv ## cargo lambda build --release (ARCH=arm64|x86_64): target/lambda/<function>/bootstrap
	@pkgs=""; for f in $(FUNCTIONS); do [[ -d crates/$$f ]] && pkgs+=" -p $$f"; done; \
	[[ -n $$pkgs ]] || { echo "no function crates yet"; exit 1; }; \
	set -x; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CARGO) lambda build --release \
	  --$(if $(filter x86_64,$(ARCH)),x86-64,arm64) $$pkgs $(CARGO_FLAGS)
	@for f in target/lambda/*/bootstrap; do printf '  %-40s %10s bytes\n' "$$f" "$$(stat -c %s "$$f")"; done

# ------------------------------------------------------------------ mutation testing
# cargo-mutants, installed into the project's own tool folder (.tools) when missing.
TOOLS          := .tools
CARGO_MUTANTS_VERSION := 27.1.0
MUTANTS        := $(TOOLS)/bin/cargo-mutants

$(MUTANTS):
	$(CARGO) install --locked --root $(TOOLS) cargo-mutants --version $(CARGO_MUTANTS_VERSION)

mutants: $(MUTANTS) ## cargo mutants over the decision code (.cargo/mutants.toml): caught, missed, unviable, timeouts
	$(MUTANTS) mutants --no-shuffle --jobs 1 --output target $(MUTANTS_ARGS) || true
	@$(PYTHON) scripts/summarize.py mutants target/mutants.out/outcomes.json

# ------------------------------------------------------------------ local demo
demo: venv build ## moto + cargo lambda watch + every event in events/, summarized
	bash scripts/demo.sh

# ------------------------------------------------------------------ local user pool
pool: venv build pool-deps ## a local user pool (cognito-local) wired to the three functions, until Ctrl-C
	@command -v $(NODE) >/dev/null 2>&1 || { echo "make pool needs Node.js (node and npm)"; exit 1; }
	bash scripts/pool.sh

clean: ## cargo clean, demo and pool logs, sam build output (keeps .venv, .tools, local-pool/node_modules)
	$(CARGO) clean
	rm -rf .demo .pool infra/.aws-sam

distclean: clean ## clean, and remove .venv and local-pool/node_modules too
	rm -rf $(VENV) $(TOOLS) local-pool/node_modules
