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
# The AWS SAM CLI and checkov pin their own dependencies (cfn-lint, boto3, ...): a venv each.
SAM_VENV    := .venv-sam
SAM_STAMP   := $(SAM_VENV)/.tools-sam-requirements.stamp
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.tools-checkov-requirements.stamp
# Target architecture of `make package` and `make deploy`: arm64 (Graviton, the default) or
# x86_64. Without the aarch64 Rust target, both say so and build x86_64 instead.
ARCH        ?= arm64
# More `sam deploy` parameter overrides, e.g. PARAMS='TrustedUserPoolArns=arn:... AlarmTopicArn=arn:...'
PARAMS      ?=
FUNCTIONS   := pre-signup post-confirmation pre-token-generation
# Project-local tools built with cargo (cargo-fuzz, cargo-mutants), kept out of ~/.cargo.
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

# The local pool's Node.js parts (cognito-local, pinned in local-pool/package-lock.json).
NODE        ?= node
NPM         ?= npm
POOL_NPM_STAMP := local-pool/node_modules/.package-lock.stamp

.PHONY: help venv tools-infra build fmt fmt-check clippy lint-infra test test-node ci bench bench-directory mutants package deploy demo pool pool-deps fuzz load clean distclean

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

$(SAM_STAMP): tools-sam-requirements.txt
	@$(SAM_VENV)/bin/python -c 'import sys' >/dev/null 2>&1 || { rm -rf $(SAM_VENV); $(PYTHON) -m venv $(SAM_VENV); }
	$(SAM_VENV)/bin/python -m pip install --disable-pip-version-check --quiet -r tools-sam-requirements.txt
	@touch $@

$(CHECKOV_STAMP): tools-checkov-requirements.txt
	@$(CHECKOV_VENV)/bin/python -c 'import sys' >/dev/null 2>&1 || { rm -rf $(CHECKOV_VENV); $(PYTHON) -m venv $(CHECKOV_VENV); }
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check --quiet -r tools-checkov-requirements.txt
	@touch $@

tools-infra: $(SAM_STAMP) $(CHECKOV_STAMP) ## install the AWS SAM CLI (.venv-sam) and checkov (.venv-checkov)

# The architecture actually built: ARCH, unless it is arm64 and the aarch64 Rust target is not
# installed (rustup cannot download here): then x86_64, and a message saying what arm64 needs.
AARCH64_TARGET := aarch64-unknown-linux-gnu
define effective_arch
arch="$(ARCH)"; \
case $$arch in arm64|x86_64) ;; *) echo "ARCH must be arm64 or x86_64, not '$$arch'" >&2; exit 2;; esac; \
if [[ $$arch == arm64 ]] \
   && ! ls "$$(rustc --print target-libdir --target $(AARCH64_TARGET) 2>/dev/null)"/libstd-*.rlib >/dev/null 2>&1; then \
  echo "make: arm64 needs the Rust standard library for $(AARCH64_TARGET), which this toolchain lacks:" >&2; \
  echo "make:   rustup target add $(AARCH64_TARGET)   (zig, the cross linker, comes with cargo-lambda in .venv)" >&2; \
  echo "make: building x86_64 instead (deploy with Architecture=x86_64, which make deploy does)" >&2; \
  arch=x86_64; \
fi
endef

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

# checkov's skips live in infra/checkov-skips.txt, one check per line with the reason it does
# not apply; a line without a reason fails the target.
lint-infra: venv tools-infra ## cfn-lint (informational rules too), sam validate --lint, checkov (listed skips)
	$(VENV)/bin/cfn-lint --include-checks I -- infra/template.yaml
	cd infra && SAM_CLI_TELEMETRY=0 ../$(SAM_VENV)/bin/sam validate --lint --region us-east-1 --template template.yaml
	@skips=$$(grep -Ev '^[[:space:]]*(#|$$)' infra/checkov-skips.txt | awk 'NF < 2 { print "infra/checkov-skips.txt: no reason given for " $$1 > "/dev/stderr"; bad = 1 } { print $$1 } END { exit bad }' | paste -sd, -); \
	echo "checkov, skipping $$skips"; \
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation --skip-check "$$skips" -f infra/template.yaml

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

# The figures of README.md's "Administration at scale": tenantctl's import and export of
# SCALE_TENANTS tenants (default 1,000) with 10 members each, against moto on loopback.
bench-directory: venv build ## time tenantctl import/export of 1,000 tenants and 10,000 members against moto
	$(LOCAL_AWS_ENV) $(CARGO) test -p tenantctl --test scale $(CARGO_FLAGS) -- --ignored --nocapture

# cargo lambda build cross-compiles with zig (the ziglang wheel that cargo-lambda's PyPI
# package depends on, found through .venv/bin/python3 on PATH).
package: venv ## the three Lambda zips (ARCH=arm64|x86_64): target/lambda/<function>/bootstrap.zip
	@$(effective_arch); \
	$(VENV)/bin/python -c 'import ziglang' 2>/dev/null \
	  || { echo "make: cargo lambda cross-compiles with zig: run make venv (pip install ziglang)" >&2; exit 1; }; \
	pkgs=""; for f in $(FUNCTIONS); do pkgs+=" -p $$f"; rm -f target/lambda/$$f/bootstrap.zip; done; \
	flag=$$([[ $$arch == arm64 ]] && echo --arm64 || echo --x86-64); \
	echo "+ cargo lambda build --release --output-format zip $$flag$$pkgs"; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CARGO) lambda build --release --output-format zip $$flag $$pkgs $(CARGO_FLAGS); \
	echo "Lambda zips ($$arch, provided.al2023, handler bootstrap):"; \
	for f in $(FUNCTIONS); do \
	  z=target/lambda/$$f/bootstrap.zip; [[ -f $$z ]] || { echo "missing $$z" >&2; exit 1; }; \
	  printf '  %-50s %10s bytes  (%s)\n' "$$z" "$$(stat -c %s "$$z")" "$$($(PYTHON) -c 'import sys, zipfile; print(", ".join(f"{i.filename} {i.file_size} bytes" for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$$z")"; \
	done

# sam build runs cargo lambda build in each function's crate (BuildMethod rust-cargolambda) for
# the template's Architecture, which is passed to both commands so that they cannot disagree.
# --language-extensions: without it the SAM CLI cannot read the template's Fn::ForEach (the
# invoke permissions) and fails with "'list' object has no attribute 'get'"; CloudFormation
# itself expands the loop at deploy time.
deploy: venv $(SAM_STAMP) ## sam build + sam deploy --guided (ARCH=arm64|x86_64, PARAMS='Name=value ...')
	@$(effective_arch); \
	cd infra; \
	export PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0; \
	set -x; \
	../$(SAM_VENV)/bin/sam build --language-extensions --parameter-overrides "Architecture=$$arch"; \
	../$(SAM_VENV)/bin/sam deploy --guided --language-extensions --parameter-overrides "Architecture=$$arch $(PARAMS)"

# ------------------------------------------------------------------ mutation testing
# cargo-mutants, installed into the project's own tool folder (.tools) when missing.
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

clean: ## cargo clean, demo and pool logs, sam build output, fuzz builds (keeps .venv, .tools, local-pool/node_modules)
	$(CARGO) clean
	rm -rf .demo .pool infra/.aws-sam fuzz/target

distclean: clean ## clean, and remove the venvs, .tools and local-pool/node_modules too
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(TOOLS) local-pool/node_modules
