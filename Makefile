# make          build what a user needs: the module, and the Lisp
#               byte-compiled in place (lisp/*.elc)
# make test     build everything, then run every test: GoogleTest (plain
#               and with ASan+UBSan), lint, ERT three ways (from source;
#               byte-compiled under -module-assertions; native-compiled)
#               and the package install test
# make demo     build, then run the main example
# make bench    run the benchmarks, write bench/RESULTS.md
#               (BENCH_QUICK=1 for a run under two minutes)
# make test-reliability   the long probes of test/reliability, and the
#               C++ tests under ThreadSanitizer (make test-tsan)
# make deps     install missing Debian packages (as root)
# make clean    remove build products

EMACS ?= emacs
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

LISP_SOURCES := $(wildcard lisp/*.el)
# The probes of test/reliability/ run once in `make test', at reduced
# sizes, on the byte-compiled Lisp (they start child Emacsen of their
# own); `make test-reliability' runs them at full size.
RELIABILITY_TESTS := test/reliability/aio-probe-test.el
LISP_TESTS := $(wildcard test/lisp/*-test.el)
ERT_TESTS = -l ert $(foreach f,$(LISP_TESTS),-l $(f)) -f ert-run-tests-batch-and-exit
# From source: a copy of lisp/ without the .elc files `make' leaves there.
ERT_SOURCE = $(EMACS) -Q --batch -L $(BUILD)/src -L test/lisp $(ERT_TESTS)
# Byte-compiled: the warnings-as-errors build of `make compile-lisp'.
ERT_BYTE = $(EMACS) -module-assertions -Q --batch -L $(BUILD)/elc -L test/lisp $(ERT_TESTS)
# Native-compiled: as package.el leaves it on an Emacs with native
# compilation (the default on Emacs 30): .elc files whose .eln is found
# through `native-comp-eln-load-path'.
ELN_DIR := $(BUILD)/eln
ERT_NATIVE = $(EMACS) -Q --batch -L $(ELN_DIR) -L test/lisp \
	--eval '(push (expand-file-name "cache/" "$(ELN_DIR)") native-comp-eln-load-path)' \
	-l tools/native-check.el $(ERT_TESTS)

# package-lint comes from Debian's elpa-package-lint.
ELPA_DIR := /usr/share/emacs/site-lisp/elpa
PACKAGE_LINT_PATH := $(addprefix -L ,$(wildcard $(ELPA_DIR)/package-lint-0* $(ELPA_DIR)/let-alist-*))
# cppcheck's checks for the C++ sources: everything but the style ones.
CPPCHECK_FLAGS := --enable=warning,performance,portability --std=c++17 --language=c++ \
	--error-exitcode=1 --inline-suppr --quiet --suppress=missingIncludeSystem \
	-I module/core -I module/emacs

.PHONY: all module compile build deps deps-test test test-core test-lisp test-install \
	compile-lisp native-lisp source-lisp ert-source ert-byte ert-native ert-probes lint package demo bench clean test-tsan test-reliability

all: module compile

deps:
	@tools/deps.sh

deps-test:
	@tools/deps.sh test

# The module alone: no GoogleTest needed.
module:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DAIO_BUILD_TESTS=OFF > /dev/null
	cmake --build $(BUILD) -j $(JOBS) --target aio-native-module

# The Lisp byte-compiled in place, as package.el would leave it.  A
# file's requires load the newer of .el and .elc: an .elc left from
# before a change would otherwise stand for its source.
compile:
	$(EMACS) -Q --batch -L lisp --eval '(setq load-prefer-newer t)' -f batch-byte-compile $(LISP_SOURCES)

# The module and the C++ tests.
build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DAIO_BUILD_TESTS=ON > /dev/null
	cmake --build $(BUILD) -j $(JOBS)

# One make for the steps, so that what they share is built once.
test: deps-test
	$(MAKE) build test-core lint test-lisp test-install

test-core:
	cd $(BUILD) && ctest --output-on-failure

# Byte-compiles into a scratch directory (so no .elc shadows the
# sources) and fails on any warning.  The module goes beside it.
compile-lisp:
	rm -rf $(BUILD)/elc && mkdir -p $(BUILD)/elc && cp $(LISP_SOURCES) $(BUILD)/elc/
	ln -sf $(CURDIR)/lisp/aio-native-module.so $(BUILD)/elc/
	$(EMACS) -Q --batch -L $(BUILD)/elc --eval '(setq byte-compile-error-on-warn t)' \
	  -f batch-byte-compile $(BUILD)/elc/*.el

# Native-compiles into another, with its own eln cache: the sources and
# the .elc files of compile-lisp, then JOBS compilers side by side.
native-lisp: compile-lisp
	rm -rf $(ELN_DIR) && mkdir -p $(ELN_DIR) && cp $(BUILD)/elc/*.el $(BUILD)/elc/*.elc $(ELN_DIR)/
	ln -sf $(CURDIR)/lisp/aio-native-module.so $(ELN_DIR)/
	@# Each compiler loads only what its files require: a warning here
	@# (a macro of a file not required) is a function call at run time.
	ls $(ELN_DIR)/*.el | xargs -P $(JOBS) -n 4 $(EMACS) -Q --batch -L $(ELN_DIR) \
	  -l tools/native-compile.el > $(BUILD)/native-compile.log 2>&1; \
	  status=$$?; cat $(BUILD)/native-compile.log; \
	  if grep -q "Warning:" $(BUILD)/native-compile.log; then echo "native-compile: warnings"; exit 1; fi; \
	  exit $$status

# Byte-compilation without warnings, checkdoc, package-lint, cppcheck.
lint: compile-lisp
	$(EMACS) -Q --batch --eval '(setq load-prefer-newer t)' -L lisp $(PACKAGE_LINT_PATH) \
	  -l tools/lint.el -f aio-lint $(LISP_SOURCES)
	cppcheck $(CPPCHECK_FLAGS) module/

# The Lisp sources alone, with the module beside them.
source-lisp:
	rm -rf $(BUILD)/src && mkdir -p $(BUILD)/src && cp $(LISP_SOURCES) $(BUILD)/src/
	ln -sf $(CURDIR)/lisp/aio-native-module.so $(BUILD)/src/

# The runs go side by side (the probes mostly wait on their children),
# each into its log, shown whole if it fails; then each run's summary.
ERT_LOGS = $(foreach run,source byte native probes,$(BUILD)/ert-$(run).log)
test-lisp: source-lisp compile-lisp native-lisp
	@$(MAKE) --no-print-directory -j4 ert-source ert-byte ert-native ert-probes
	@grep -H "^Ran " $(ERT_LOGS)

ert-source:
	@echo "ERT from source: $(BUILD)/ert-source.log"
	@$(ERT_SOURCE) > $(BUILD)/ert-source.log 2>&1 || { cat $(BUILD)/ert-source.log; exit 1; }

ert-byte:
	@echo "ERT byte-compiled, -module-assertions: $(BUILD)/ert-byte.log"
	@$(ERT_BYTE) > $(BUILD)/ert-byte.log 2>&1 || { cat $(BUILD)/ert-byte.log; exit 1; }

ert-native:
	@echo "ERT native-compiled: $(BUILD)/ert-native.log"
	@$(ERT_NATIVE) > $(BUILD)/ert-native.log 2>&1 || { cat $(BUILD)/ert-native.log; exit 1; }

ert-probes:
	@echo "ERT reliability probes, reduced sizes: $(BUILD)/ert-probes.log"
	@$(EMACS) -Q --batch -L $(BUILD)/elc -L test/lisp -L test/reliability -l ert -l $(RELIABILITY_TESTS) \
	  --eval '(ert-run-tests-batch-and-exit (quote (not (tag :full-size))))' > $(BUILD)/ert-probes.log 2>&1 || { cat $(BUILD)/ert-probes.log; exit 1; }

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
	$(MAKE) module compile
	$(EMACS) -Q --batch --eval '(setq load-prefer-newer t)' -L lisp -L examples -l examples/demo.el

# The C++ tests under ThreadSanitizer, in a build of their own.
test-tsan: deps-test
	cmake -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIO_TSAN=ON > /dev/null
	cmake --build $(BUILD)-tsan -j $(JOBS) --target core_tests_tsan
	$(BUILD)-tsan/core_tests_tsan

bench:
	@tools/deps.sh bench
	python3 bench/run.py

clean:
	rm -rf $(BUILD) $(BUILD)-tsan build-bench build-module lisp/aio-native-module.so lisp/*.elc

# The reliability probes of test/reliability/ at full size: the
# bad-input matrix (plain and under -module-assertions), the fault
# server, exit and shutdown under load, the cancellation storm,
# descriptor inheritance and exhaustion, memory limits; the 200 MiB
# slow reader of a streamed body; then the C++ tests under
# ThreadSanitizer.  The probes' figures are printed and written to
# $(BUILD)/reliability-figures.txt.
test-reliability: deps-test
	$(MAKE) build compile
	rm -f $(BUILD)/reliability-figures.txt
	AIO_PROBE_SCALE=full AIO_PROBE_FIGURES=$(abspath $(BUILD))/reliability-figures.txt \
	  $(EMACS) -Q --batch --eval '(setq load-prefer-newer t)' -L lisp -L test/lisp -L test/reliability \
	  -l ert -l $(RELIABILITY_TESTS) -f ert-run-tests-batch-and-exit
	$(EMACS) -Q --batch --eval '(setq load-prefer-newer t)' -L lisp -L test/lisp \
	  --eval '(setq aio-http-stream-test-slow-size (* 200 1024 1024))' \
	  -l ert -l test/lisp/aio-http-stream-test.el \
	  --eval '(ert-run-tests-batch-and-exit "slow-reader")'
	$(MAKE) test-tsan
