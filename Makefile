# Graft's front door. `make` builds the Release binaries into build/;
# `make check` installs what is missing and runs every test; `make demo`
# builds and runs the demo; `make demo-mqtt` runs its gateway part bridged
# to a real Mosquitto broker (started on a free loopback port and stopped
# again). The configurations:
#   build/          Release, threaded dispatch (the default binaries)
#   build-switch/   Release, portable switch dispatch (spec suite only)
#   build-nofused/  Release, threaded, GRAFT_FUSED=OFF: no fused instructions
#                   (spec suite only)
#   build-debug/    Debug with ASan+UBSan: every ctest label
#   build-fuzz/     clang + libFuzzer: the fuzz target (short fixed run in check)
#   build-mcu/      Cortex-M4 cross build of the engine (link check)
SHELL := /bin/bash
JOBS ?= $(shell nproc)
SPECTEST ?= $(abspath ../shared/spectest)
WASI_TESTSUITE ?= $(abspath ../shared/wasi-testsuite)
CMAKE_COMMON := -DGRAFT_SPECTEST_DIR=$(SPECTEST) -DGRAFT_WASI_TESTSUITE_DIR=$(WASI_TESTSUITE)
FUZZ_SECONDS ?= 60

.PHONY: all deps build examples check demo demo-mqtt fuzz clean \
        check-debug check-release check-switch check-nofused check-mcu check-fuzz check-tsan

all: build

deps:
	@bash scripts/install-deps.sh

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_COMMON) >/dev/null
	cmake --build build -j$(JOBS)

examples: build
	cmake --build build -j$(JOBS) --target examples

check: deps
	$(MAKE) check-debug check-release check-switch check-nofused check-mcu check-fuzz check-tsan
	@echo "make check: all passed"

check-debug:
	cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug -DGRAFT_SANITIZE=ON $(CMAKE_COMMON) >/dev/null
	cmake --build build-debug -j$(JOBS)
	cmake --build build-debug -j$(JOBS) --target examples
	cd build-debug && ASAN_OPTIONS=detect_leaks=1 ctest -j$(JOBS) --output-on-failure

check-release: build examples
	build/graft-spectest $(SPECTEST)/core
	bash tests/wasi/run.sh build/graft $(WASI_TESTSUITE)
	@# hostile modules and broken replacements against the Release graftd
	@# too, where a stack overwrite is a crash rather than an ASan report
	bash tests/e2e/graftd_hostile.sh build .
	bash tests/e2e/graftd_replace.sh build .

check-switch:
	cmake -S . -B build-switch -DCMAKE_BUILD_TYPE=Release -DGRAFT_DISPATCH=switch $(CMAKE_COMMON) >/dev/null
	cmake --build build-switch -j$(JOBS) --target graft-spectest
	build-switch/graft-spectest $(SPECTEST)/core

check-nofused:
	cmake -S . -B build-nofused -DCMAKE_BUILD_TYPE=Release -DGRAFT_FUSED=OFF $(CMAKE_COMMON) >/dev/null
	cmake --build build-nofused -j$(JOBS) --target graft-spectest
	build-nofused/graft-spectest $(SPECTEST)/core

check-mcu:
	bash scripts/mcu-check.sh build-mcu

check-fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DGRAFT_FUZZ=ON $(CMAKE_COMMON) >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target fuzz_engine fuzz_bundle
	cd build-fuzz && ctest -R '^fuzz/(engine|bundle)$$' --output-on-failure

# ThreadSanitizer over the tests that share a store between threads
# (graft_store_interrupt from a timer thread): ctest label tsan.
check-tsan:
	CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DGRAFT_TSAN=ON $(CMAKE_COMMON) >/dev/null
	cmake --build build-tsan -j$(JOBS) --target tsan_interrupt
	cd build-tsan && ctest -L tsan --output-on-failure

demo: deps examples
	bash scripts/demo.sh build
	bash scripts/demo-gateway.sh build

demo-mqtt: deps examples
	bash scripts/demo-gateway.sh --mqtt build

fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DGRAFT_FUZZ=ON $(CMAKE_COMMON) >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target fuzz_engine
	mkdir -p build-fuzz/corpus
	build-fuzz/fuzz_engine -max_total_time=$(FUZZ_SECONDS) -timeout=10 build-fuzz/corpus $$(bash tests/fuzz/seeds.sh $(SPECTEST))

clean:
	rm -rf build build-switch build-nofused build-debug build-fuzz build-mcu build-tsan

# Differential fuzzing against binaryen's interpreter (tests/fuzz/diff.sh):
# `make fuzz-diff FUZZ_SECONDS=600 [FUZZ_SEED=n] [FUZZ_COUNT=n]`.
FUZZ_SEED ?= $(shell date +%s)
FUZZ_COUNT ?= 1000000000
.PHONY: fuzz-diff
fuzz-diff:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_COMMON) >/dev/null
	cmake --build build -j$(JOBS) --target graft-fuzz-exec
	bash tests/fuzz/diff.sh build/graft-fuzz-exec $(FUZZ_SEED) $(FUZZ_COUNT) $(FUZZ_SECONDS)
