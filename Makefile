# jobpulse: one plain Makefile.
#
# Flags: CXXFLAGS is yours to override (default -O2 -g); the language level,
# warnings, include path and dependency tracking are always added. With CI=true
# warnings are errors. Objects and binaries go under build/.
#
#   make deps    install the Debian packages that are missing (apt-get, sudo if not root)
#   make test-deps  the same for the test-only packages (Chromium for the browser tests)
#   make         build the FastCGI handler and the test binaries
#   make test    deps + build + unit tests + integration tests (real nginx, supervisord)
#   make check   the same as make test without installing anything
#   make bench   the SPEC §10 benchmarks (tests/bench/run): table + build/bench/report.json
#   make bench-smoke  each benchmark for a second or two: it runs and produces its numbers
#   make run     deps + build + nginx, the FastCGI pool under supervisord on 127.0.0.1:8001
#   make fuzz    build the libFuzzer targets (tests/fuzz/*_fuzz.cc) with clang
#   make fuzz-run FUZZ_SECONDS=600  fuzz each target that long on its corpus
#   make install [PREFIX=/usr/local] [DESTDIR=]  binaries, web page, example config,
#                nginx snippet, supervisord and systemd files; make uninstall undoes it
#   make deb     the Debian package (dpkg-buildpackage, debian/) in build/deb/
#   make deb-check  that package installed and run in a Debian 12 chroot (root, network)
#   make clean   remove build/

CXX ?= g++
CXXFLAGS ?= -O2 -g
WERROR := $(if $(filter true 1 yes,$(CI)),-Werror,)
# libpq's header lives in its own directory (Debian's libpq-dev).
PG_INCLUDE := -isystem /usr/include/postgresql
FINAL_CXXFLAGS := -std=c++20 -Wall -Wextra -Wpedantic $(WERROR) -I. $(PG_INCLUDE) $(CXXFLAGS)
# Boost.Test's shared-library mode, for the test sources only.
TEST_DEFINES := -DBOOST_TEST_DYN_LINK
DEPFLAGS := -MMD -MP
LDLIBS := -lcurl -lssl -lcrypto -lsqlite3 -lpq -lyaml-cpp -lpthread
BUILD := build
# Parallel builds inside `make test` and `make run`; override with JOBS=1.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

DEB_PACKAGES := g++ make libfcgi-dev libcurl4-openssl-dev rapidjson-dev \
  libsqlite3-dev libpq-dev libboost-test-dev libboost-dev libssl-dev libyaml-cpp-dev zlib1g-dev \
  nginx supervisor sqlite3 curl
# The browser tests (tests/integration/ui_it.cc): headless Chromium through chromedriver.
TEST_DEB_PACKAGES := chromium chromium-driver fonts-liberation
# The fuzz targets and the sanitizer build: Debian's clang 14 with libFuzzer and
# the sanitizer runtimes (libclang-rt-14-dev is only a Recommends of clang-14).
TEST_DEB_PACKAGES += clang libclang-rt-14-dev
# The PostgreSQL engine's tests start a throwaway cluster (initdb, pg_ctl).
TEST_DEB_PACKAGES += postgresql
# The benchmarks' smoke run inside `make test` (B1/B6 use wrk).
TEST_DEB_PACKAGES += wrk
# make deb, and its test inside `make test` (tests/ops/package_test).
DEB_BUILD_PACKAGES := debhelper dpkg-dev build-essential lintian fakeroot
TEST_DEB_PACKAGES += $(DEB_BUILD_PACKAGES)

LIB_SRCS := $(wildcard lib/*.cc)
LIB_OBJS := $(LIB_SRCS:%.cc=$(BUILD)/%.o)
LIB_A := $(BUILD)/libjobpulse.a
UNIT_SRCS := $(wildcard tests/*_test.cc) tests/pg_cluster.cc tests/engine_fixture.cc  # main_test.cc defines the module
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/%.o)
# The two-node suite starts a throwaway PostgreSQL cluster, as the unit tests do.
IT_SRCS := $(wildcard tests/integration/*.cc) tests/pg_cluster.cc
IT_OBJS := $(IT_SRCS:%.cc=$(BUILD)/%.o)
FCGI_OBJS := $(BUILD)/fcgi/main.o
WORKER_OBJS := $(BUILD)/worker/main.o
BENCH_SRCS := $(wildcard tests/bench/*.cc)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.cc=$(BUILD)/bench_%)
# Not benchmarks themselves: the rows module, the load client, the engine
# choice with its PostgreSQL cluster (issue 12), B1's hello handler, the table.
BENCH_REPORT_OBJ := $(BUILD)/tests/bench/report/report.o
BENCH_FLOOD_OBJ := $(BUILD)/tests/bench/flood/http_flood.o
BENCH_ENGINE_OBJS := $(BUILD)/tests/bench/engine/engine.o $(BUILD)/tests/pg_cluster.o
BENCH_EXTRA := $(BUILD)/bench_hello_fcgi $(BUILD)/bench_summary
SIM_SRCS := $(wildcard tests/replicate_sim/*.cc)
SIM_OBJS := $(SIM_SRCS:%.cc=$(BUILD)/%.o)

FCGI_BIN := $(BUILD)/jobpulse-fcgi
WORKER_BIN := $(BUILD)/jobpulse-worker
UNIT_BIN := $(BUILD)/unit_tests
IT_BIN := $(BUILD)/integration_tests
SIM_BIN := $(BUILD)/replicate-sim

.PHONY: all deps test-deps bench-deps test check unit-test integration-test bench bench-smoke run clean \
  fuzz fuzz-run fuzz-merge asan-unit-test install uninstall deb-deps deb deb-check
.DEFAULT_GOAL := all

all: $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN) $(UNIT_BIN) $(IT_BIN)

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(FINAL_CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(FINAL_CXXFLAGS) $(TEST_DEFINES) $(DEPFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FCGI_BIN): $(FCGI_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ -lfcgi $(LDLIBS)

$(WORKER_BIN): $(WORKER_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ $(LDLIBS)

$(SIM_BIN): $(SIM_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ -lz $(LDLIBS)

# Each benchmark is one file linked with the integration tests' stack helpers,
# the rows module (tests/bench/report), the load client (tests/bench/flood) and
# the engine choice (tests/bench/engine, with tests/pg_cluster.cc).
$(BUILD)/bench_%: $(BUILD)/tests/bench/%.o $(BUILD)/tests/integration/stack.o $(BENCH_REPORT_OBJ) \
  $(BENCH_FLOOD_OBJ) $(BENCH_ENGINE_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ $(LDLIBS)

# make bench's table: reads the rows, writes report.json.
$(BUILD)/bench_summary: $(BUILD)/tests/bench/summary/bench_summary.o $(BENCH_REPORT_OBJ) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ $(LDLIBS)

# B1's baseline handler: a bare libfcgi responder.
$(BUILD)/bench_hello_fcgi: $(BUILD)/tests/bench/hello/hello_fcgi.o
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ -lfcgi

$(UNIT_BIN): $(UNIT_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ -lboost_unit_test_framework $(LDLIBS)

$(IT_BIN): $(IT_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ -lboost_unit_test_framework $(LDLIBS)

# Installs only what is missing, only from Debian's archive.
# $(call install_missing,TARGET,PACKAGES): apt-get installs the PACKAGES that
# dpkg does not know as installed, through sudo when not root; nothing else.
define install_missing
@missing=$$(for p in $(2); do \
  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
done); \
if [ -n "$$missing" ]; then \
  echo "make $(1): installing" $$missing; \
  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
  $$sudo apt-get update -qq && \
  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
fi
endef

deps:
	$(call install_missing,deps,$(DEB_PACKAGES))

test-deps:
	$(call install_missing,test-deps,$(TEST_DEB_PACKAGES))

bench-deps:
	$(call install_missing,bench-deps,$(BENCH_DEB_PACKAGES))

# After the unit and integration suites: the unit tests built with ASan+UBSan,
# then each fuzz target for FUZZ_SECONDS over its corpus and regression inputs
# (one test each in the final count), then the benchmarks' smoke run (one
# test per row: each benchmark still runs and produces its numbers), then
# make install/uninstall into a scratch DESTDIR and the Debian package's
# build and contents (one test each, tests/ops/).
# `make check` is the same without installing anything (the packages are there).
test: deps test-deps
	@$(MAKE) --no-print-directory check

check:
	@$(MAKE) --no-print-directory -j$(JOBS) all $(ASAN_UNIT_BIN) $(FUZZ_BINS) $(BENCH_BINS) \
	  $(BENCH_EXTRA)
	@FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) tests/run_suites $(UNIT_BIN) $(IT_BIN) $(ASAN_UNIT_BIN) \
	  $(FUZZ_BINS:%=fuzz:%) bench-smoke:$(abspath $(BUILD)) \
	  check:tests/ops/install_test check:tests/ops/package_test

unit-test: $(UNIT_BIN)
	@tests/run_suites $(UNIT_BIN)

integration-test: $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN) $(IT_BIN)
	@tests/run_suites $(IT_BIN)

# Speed and cost targets of SPEC section 10, measured on this machine: every
# program of tests/bench/run's table writes its rows (median, min, max over
# rounds or runs) into $(BUILD)/bench/rows, emptied first; the table and
# $(BUILD)/bench/report.json follow, then "N passed, N failed".
# `make bench BENCH="throughput"` reruns only those programs, keeping the other rows.
# postgresql: the -pg rows' throwaway cluster (issue 12).
BENCH_DEB_PACKAGES := wrk postgresql
BENCH ?=

bench: deps bench-deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN) $(BENCH_BINS) \
	  $(BENCH_EXTRA)
	@tests/bench/run $(BUILD) $(BENCH)

# Each benchmark with tiny arguments (a second or two a side, one round or
# run): checks that every row has a number, never a timing. Rows and report in
# $(BUILD)/bench-smoke/.
bench-smoke: deps bench-deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN) $(BENCH_BINS) \
	  $(BENCH_EXTRA)
	@tests/bench/run --smoke $(BUILD)

run: deps
	@$(MAKE) --no-print-directory -s -j$(JOBS) $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN)
	@nginx/jobpulse-run

# --- Installing, and the Debian package (issue 13) ---------------------------
# make install writes, under DESTDIR (for staging; empty for a real install):
#   BINDIR            jobpulse-fcgi, jobpulse-worker
#   SHAREDIR/www      the web page; SHAREDIR also the example configuration
#   CONFFILE          the example simpletuner-enterprise.yaml, unless one is there
#   NGINX_SNIPPET     location blocks to include in a server {} of your nginx
#   SUPERVISOR_CONF   [fcgi-program:jobpulse-fcgi] and [program:jobpulse-worker]
#   SYSTEMD_UNIT_DIR  jobpulse-fcgi.socket, jobpulse-fcgi@.service, jobpulse-worker.service
#   TMPFILES_DIR      jobpulse.conf: RUNDIR for the sockets at boot
# and lists them in INSTALL_MANIFEST, which make uninstall reads (dist/install).
# The rendered files point at STATEDIR (the database) and RUNDIR (the sockets).
# debian/rules sets Debian's paths; the user and STATEDIR are the package's
# postinst (or yours after make install: README, Operations).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/jobpulse
SYSCONFDIR ?= $(PREFIX)/etc
CONFFILE ?= $(SYSCONFDIR)/jobpulse/simpletuner-enterprise.yaml
NGINX_SNIPPET ?= $(SYSCONFDIR)/jobpulse/nginx-jobpulse.conf
SUPERVISOR_CONF ?= $(SYSCONFDIR)/jobpulse/supervisor-jobpulse.conf
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
TMPFILES_DIR ?= $(PREFIX)/lib/tmpfiles.d
STATEDIR ?= /var/lib/jobpulse
RUNDIR ?= /run/jobpulse
INSTALL_MANIFEST ?= $(SHAREDIR)/install-manifest
INSTALL_ENV = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' BINDIR='$(BINDIR)' SHAREDIR='$(SHAREDIR)' \
  SYSCONFDIR='$(SYSCONFDIR)' CONFFILE='$(CONFFILE)' NGINX_SNIPPET='$(NGINX_SNIPPET)' \
  SUPERVISOR_CONF='$(SUPERVISOR_CONF)' SYSTEMD_UNIT_DIR='$(SYSTEMD_UNIT_DIR)' \
  TMPFILES_DIR='$(TMPFILES_DIR)' STATEDIR='$(STATEDIR)' RUNDIR='$(RUNDIR)' \
  INSTALL_MANIFEST='$(INSTALL_MANIFEST)' BUILD='$(abspath $(BUILD))'

install: $(FCGI_BIN) $(WORKER_BIN)
	@$(INSTALL_ENV) dist/install install

uninstall:
	@$(INSTALL_ENV) dist/install uninstall

deb-deps:
	$(call install_missing,deb-deps,$(DEB_BUILD_PACKAGES))

# build/deb/jobpulse_<version>_<arch>.deb, from the objects already in build/.
deb: deps deb-deps
	@dist/build-deb

# Not part of make test: needs root, network and a few minutes (dist/deb-check).
deb-check: deb
	$(call install_missing,deb-check,debootstrap)
	@dist/deb-check

# --- Sanitizers and fuzzing ---------------------------------------------------
# Debian's clang 14 builds a copy of lib/ with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer's coverage instrumentation
# ($(BUILD)/fuzz/). It serves both the fuzz targets and the unit tests built
# once more with the same sanitizers ($(BUILD)/asan/). System libraries
# (yaml-cpp, libcurl, SQLite, OpenSSL) are not instrumented.
# (Debian's RapidJSON 1.1 iterators trip clang's C++20 reversed-operator warning
# at every `it != doc.MemberEnd()`; g++ has no such warning. The ignore list
# names RapidJSON's one known, harmless UBSan report.)
SAN_CXX ?= clang++
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  -fsanitize-ignorelist=tests/fuzz/sanitizer_ignorelist.txt
SAN_CXXFLAGS := -std=c++20 -Wall -Wextra -Wpedantic $(WERROR) -Wno-ambiguous-reversed-operator \
  -I. $(PG_INCLUDE) -O1 -g $(SAN_FLAGS)
FUZZ_SRCS := $(wildcard tests/fuzz/*_fuzz.cc)
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/%_fuzz.cc=%)
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%_fuzz)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.cc=$(FUZZ_BUILD)/%.o)
FUZZ_OBJS := $(FUZZ_SRCS:%.cc=$(FUZZ_BUILD)/%.o)
FUZZ_LIB_A := $(FUZZ_BUILD)/libjobpulse.a

ASAN_BUILD := $(BUILD)/asan
ASAN_UNIT_OBJS := $(UNIT_SRCS:%.cc=$(ASAN_BUILD)/%.o)
ASAN_UNIT_BIN := $(ASAN_BUILD)/unit_tests

$(ASAN_BUILD)/%.o: %.cc tests/fuzz/sanitizer_ignorelist.txt
	@mkdir -p $(dir $@)
	$(SAN_CXX) $(SAN_CXXFLAGS) $(TEST_DEFINES) $(DEPFLAGS) -c $< -o $@

$(ASAN_UNIT_BIN): $(ASAN_UNIT_OBJS) $(FUZZ_LIB_A)
	$(SAN_CXX) $(SAN_CXXFLAGS) $^ -o $@ -lboost_unit_test_framework $(LDLIBS)

asan-unit-test: $(ASAN_UNIT_BIN)
	@tests/run_suites $(ASAN_UNIT_BIN)

# libFuzzer targets, one per tests/fuzz/<name>_fuzz.cc.
# Seconds per target: `make fuzz-run` (default 60) and `make test` (10).
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 10
# Where fuzz-run keeps what it finds: new corpus entries and crash inputs.
FUZZ_OUT := $(BUILD)/fuzz-out

$(FUZZ_BUILD)/%.o: %.cc tests/fuzz/sanitizer_ignorelist.txt
	@mkdir -p $(dir $@)
	$(SAN_CXX) $(SAN_CXXFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

$(FUZZ_LIB_A): $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/%_fuzz: $(FUZZ_BUILD)/tests/fuzz/%_fuzz.o $(FUZZ_LIB_A)
	$(SAN_CXX) $(SAN_CXXFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS)

fuzz: $(FUZZ_BINS)

# Each target in turn for FUZZ_SECONDS on one core. New inputs go to
# $(FUZZ_OUT)/<name>/corpus and crashes to $(FUZZ_OUT)/<name>/, never into the
# repository; copy a crash to tests/fuzz/regressions/<name>/ once it is fixed.
fuzz-run: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_OUT=$(abspath $(FUZZ_OUT)) tests/run_suites \
	  $(FUZZ_BINS:%=fuzz:%)

# Adds to each committed corpus the inputs fuzz-run found that reach new code
# (libFuzzer -merge=1 over edges only, -use_counters=0, so the corpus stays a
# few hundred small files); what is committed stays.
fuzz-merge: $(FUZZ_BINS)
	@for name in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_OUT)/$$name/corpus tests/fuzz/corpus/$$name && \
	  $(FUZZ_BUILD)/$${name}_fuzz -merge=1 -use_counters=0 tests/fuzz/corpus/$$name \
	    $(FUZZ_OUT)/$$name/corpus > $(FUZZ_OUT)/$$name/merge.log 2>&1 && \
	  echo "$$name: $$(ls tests/fuzz/corpus/$$name | wc -l) inputs" || exit 1; \
	done

clean:
	rm -rf $(BUILD)

# Every object's header dependencies (-MMD -MP), whichever build made it.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
