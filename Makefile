# make          build the module (and the C++ tests)
# make test     build, then run every test: GoogleTest (plain and with
#               ASan+UBSan) and ERT (plain and under -module-assertions)
# make demo     build, then run the main example
# make bench    run the benchmarks, write bench/RESULTS.md
#               (BENCH_QUICK=1 for a run under two minutes)
# make deps     install missing Debian packages (as root)
# make clean    remove build products

EMACS ?= emacs
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

LISP_SOURCES := $(wildcard lisp/*.el)
LISP_TESTS := $(wildcard test/lisp/*-test.el)
ERT = $(EMACS) -Q --batch -L lisp -L test/lisp -l ert \
	$(foreach f,$(LISP_TESTS),-l $(f)) -f ert-run-tests-batch-and-exit

# package-lint comes from Debian's elpa-package-lint.
ELPA_DIR := /usr/share/emacs/site-lisp/elpa
PACKAGE_LINT_PATH := $(addprefix -L ,$(wildcard $(ELPA_DIR)/package-lint-0* $(ELPA_DIR)/let-alist-*))
# cppcheck's checks for the C++ sources: everything but the style ones.
CPPCHECK_FLAGS := --enable=warning,performance,portability --std=c++17 --language=c++ \
	--error-exitcode=1 --inline-suppr --quiet --suppress=missingIncludeSystem \
	-I module/core -I module/emacs

.PHONY: all build deps test test-core test-lisp test-install compile-lisp lint package demo bench clean

all: build

deps:
	@tools/deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) > /dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	$(MAKE) build
	$(MAKE) test-core
	$(MAKE) lint
	$(MAKE) test-lisp
	$(MAKE) test-install

test-core:
	cd $(BUILD) && ctest --output-on-failure

# Byte-compiles into a scratch directory (so no .elc shadows the
# sources) and fails on any warning.
compile-lisp:
	rm -rf $(BUILD)/elc && mkdir -p $(BUILD)/elc && cp $(LISP_SOURCES) $(BUILD)/elc/
	$(EMACS) -Q --batch -L $(BUILD)/elc --eval '(setq byte-compile-error-on-warn t)' \
	  -f batch-byte-compile $(BUILD)/elc/*.el

# Byte-compilation without warnings, checkdoc, package-lint, cppcheck.
lint: compile-lisp
	$(EMACS) -Q --batch -L lisp $(PACKAGE_LINT_PATH) -l tools/lint.el -f aio-lint $(LISP_SOURCES)
	cppcheck $(CPPCHECK_FLAGS) module/

test-lisp:
	$(ERT)
	$(EMACS) -module-assertions $(wordlist 2,1000,$(ERT))

# The package.el archive, laid out as MELPA would build it from
# recipes/aio-native.
package:
	$(EMACS) -Q --batch -l tools/package.el -f aio-package-build

# Installs the archive into an empty package-user-dir under an empty
# HOME and lets it build its own module there.
test-install: package
	@home=$$(mktemp -d) && \
	  HOME=$$home $(EMACS) -Q --batch -l test/install/install-test.el \
	    dist/aio-native-$$(sed -n 's/^;; Version: //p' lisp/aio-native.el).tar; \
	  status=$$?; rm -rf $$home; exit $$status

demo: deps
	$(MAKE) build
	$(EMACS) -Q --batch -L lisp -L examples -l examples/demo.el

bench:
	@tools/deps.sh bench
	python3 bench/run.py

clean:
	rm -rf $(BUILD) build-bench build-module lisp/aio-native-module.so lisp/*.elc

# make test-reliability  the reliability probes of test/reliability/ at full
#               size: the bad-input matrix (plain and under
#               -module-assertions), the fault server, exit and shutdown
#               under load, the cancellation storm, descriptor inheritance
#               and exhaustion, memory limits.  Their figures are printed
#               and written to $(BUILD)/reliability-figures.txt.  `make
#               test' runs the same probes with reduced sizes.
RELIABILITY_TESTS := test/reliability/aio-probe-test.el
LISP_TESTS += $(RELIABILITY_TESTS)

.PHONY: test-reliability
test-reliability: build
	mkdir -p $(BUILD) && rm -f $(BUILD)/reliability-figures.txt
	AIO_PROBE_SCALE=full AIO_PROBE_FIGURES=$(abspath $(BUILD))/reliability-figures.txt \
	  $(EMACS) -Q --batch -L lisp -l ert -l $(RELIABILITY_TESTS) -f ert-run-tests-batch-and-exit
