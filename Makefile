# make          build the module (and the C++ tests)
# make test     build, then run every test: GoogleTest (plain and with
#               ASan+UBSan) and ERT (plain and under -module-assertions)
# make demo     build, then run the main example
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

.PHONY: all build deps test test-core test-lisp compile-lisp demo clean

all: build

deps:
	@tools/deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) > /dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	$(MAKE) build
	$(MAKE) test-core
	$(MAKE) compile-lisp
	$(MAKE) test-lisp

test-core:
	cd $(BUILD) && ctest --output-on-failure

# Byte-compiles into a scratch directory (so no .elc shadows the
# sources) and fails on any warning.
compile-lisp:
	rm -rf $(BUILD)/elc && mkdir -p $(BUILD)/elc && cp $(LISP_SOURCES) $(BUILD)/elc/
	$(EMACS) -Q --batch -L $(BUILD)/elc --eval '(setq byte-compile-error-on-warn t)' \
	  -f batch-byte-compile $(BUILD)/elc/*.el

test-lisp:
	$(ERT)
	$(EMACS) -module-assertions $(wordlist 2,1000,$(ERT))

demo: deps
	$(MAKE) build
	$(EMACS) -Q --batch -L lisp -l examples/demo.el

clean:
	rm -rf $(BUILD) build-module lisp/aio-native-module.so lisp/*.elc
