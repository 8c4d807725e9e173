# ferry: a thin wrapper over CMake.
#
#   make run         build (Release) and run the main job: ferry-bench --quick
#   make test        build everything with -Werror and run the test suite
#   make test-asan   the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-tsan   the test suite under ThreadSanitizer
#   make install     install the library to $(PREFIX) (DESTDIR is honoured)
#   make clean       remove every build directory
#
# Each target installs missing tools first (tools/install-deps.sh) and
# uses its own build directory under $(BUILD_ROOT), so they never share a cache.

BUILD_ROOT   ?= build
PREFIX       ?= /usr/local
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS   ?= 2
CTEST_TIMEOUT ?= 300
CMAKE        ?= cmake
# Extra arguments for every CMake configure step, e.g. CMAKE_ARGS=-GNinja.
CMAKE_ARGS   ?=
# Arguments for the benchmark that `make run` runs.
# Where `make run` leaves its CSV, JSON, chart (SVG, PNG) and markdown report.
RUN_OUT      ?= out
RUN_ARGS     ?= --quick --csv $(RUN_OUT)/ferry-bench.csv --json $(RUN_OUT)/ferry-bench.json \
                --chart $(RUN_OUT)/ferry-bench --report $(RUN_OUT)/ferry-bench.md

# Sanitizer settings; values from the environment win.
export ASAN_OPTIONS  ?= detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS  ?= halt_on_error=1:second_deadlock_stack=1

RELEASE_DIR := $(BUILD_ROOT)/release
DEV_DIR     := $(BUILD_ROOT)/dev
TEST_DIR    := $(BUILD_ROOT)/test
ASAN_DIR    := $(BUILD_ROOT)/asan
TSAN_DIR    := $(BUILD_ROOT)/tsan
INSTALL_DIR := $(BUILD_ROOT)/install

CTEST_ARGS = -j $(CTEST_JOBS) --timeout $(CTEST_TIMEOUT)

.PHONY: bench-deps all build run test test-asan test-tsan test-all install install-smoke ci deps test-deps clean help

all: build

help:
	@sed -n '3,11p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@sh tools/install-deps.sh

test-deps:
	@sh tools/install-deps.sh --test

bench-deps:
	@sh tools/install-deps.sh --bench

# Development build (RelWithDebInfo, everything).
build: deps
	$(CMAKE) -S . -B $(DEV_DIR) $(CMAKE_ARGS)
	$(CMAKE) --build $(DEV_DIR) -j $(JOBS)

# The main job. Only what the benchmark needs is built.
run: bench-deps
	$(CMAKE) -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release \
	    -DFERRY_BUILD_BENCH=ON -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_EXAMPLES=OFF \
	    -DFERRY_SANITIZE= $(CMAKE_ARGS)
	$(CMAKE) --build $(RELEASE_DIR) -j $(JOBS) --target ferry-bench
	@bench=$$(find $(RELEASE_DIR) -type f -name ferry-bench -perm -u+x | head -n 1); \
	if [ -z "$$bench" ]; then echo "make run: ferry-bench was not built" >&2; exit 1; fi; \
	mkdir -p $(RUN_OUT); \
	echo "+ $$bench $(RUN_ARGS)"; \
	"$$bench" $(RUN_ARGS)

# The test suite: library, examples, tests and benchmarks, warnings are errors.
test: test-deps
	$(CMAKE) -S . -B $(TEST_DIR) -DFERRY_WERROR=ON -DFERRY_SANITIZE= \
	    -DFERRY_BUILD_TESTS=ON -DFERRY_BUILD_EXAMPLES=ON -DFERRY_BUILD_BENCH=ON $(CMAKE_ARGS)
	$(CMAKE) --build $(TEST_DIR) -j $(JOBS)
	bash tools/run-ctest.sh $(TEST_DIR) $(CTEST_ARGS)

# Sanitizer builds keep warnings as warnings: sanitizer instrumentation makes
# GCC report false positives; `make test` is the warning gate.
test-asan: test-deps
	$(CMAKE) -S . -B $(ASAN_DIR) -DFERRY_WERROR=OFF -DFERRY_SANITIZE=address,undefined \
	    -DFERRY_BUILD_TESTS=ON -DFERRY_BUILD_EXAMPLES=ON -DFERRY_BUILD_BENCH=ON $(CMAKE_ARGS)
	$(CMAKE) --build $(ASAN_DIR) -j $(JOBS)
	bash tools/run-ctest.sh $(ASAN_DIR) $(CTEST_ARGS)

test-tsan: test-deps
	$(CMAKE) -S . -B $(TSAN_DIR) -DFERRY_WERROR=OFF -DFERRY_SANITIZE=thread \
	    -DFERRY_BUILD_TESTS=ON -DFERRY_BUILD_EXAMPLES=ON -DFERRY_BUILD_BENCH=ON $(CMAKE_ARGS)
	$(CMAKE) --build $(TSAN_DIR) -j $(JOBS)
	bash tools/run-ctest.sh --tsan $(TSAN_DIR) $(CTEST_ARGS)

test-all: test test-asan test-tsan install-smoke

# Configured with the prefix so that ferry.pc names it.
install: deps
	$(CMAKE) -S . -B $(INSTALL_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) \
	    -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_EXAMPLES=OFF -DFERRY_BUILD_BENCH=OFF \
	    -DFERRY_SANITIZE= -DFERRY_WERROR=OFF $(CMAKE_ARGS)
	$(CMAKE) --build $(INSTALL_DIR) -j $(JOBS)
	$(CMAKE) --install $(INSTALL_DIR)

# Installs to a temporary prefix and builds consumers with CMake and pkg-config.
install-smoke: deps
	bash tools/install-smoke.sh $(BUILD_ROOT)/install-smoke

ci:
	bash .ci/run

clean:
	rm -rf -- $(BUILD_ROOT)
