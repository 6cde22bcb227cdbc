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
#   make run     deps + build + nginx, the FastCGI pool under supervisord on 127.0.0.1:8001
#   make clean   remove build/

CXX ?= g++
CXXFLAGS ?= -O2 -g
WERROR := $(if $(filter true 1 yes,$(CI)),-Werror,)
FINAL_CXXFLAGS := -std=c++20 -Wall -Wextra -Wpedantic $(WERROR) -I. -DBOOST_TEST_DYN_LINK $(CXXFLAGS)
DEPFLAGS := -MMD -MP
LDLIBS := -lcurl -lssl -lcrypto -lsqlite3 -lyaml-cpp -lpthread
BUILD := build
# Parallel builds inside `make test` and `make run`; override with JOBS=1.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

DEB_PACKAGES := g++ make libfcgi-dev libcurl4-openssl-dev rapidjson-dev \
  libsqlite3-dev libboost-test-dev libboost-dev libssl-dev libyaml-cpp-dev zlib1g-dev nginx \
  supervisor sqlite3 curl
# The browser tests (tests/integration/ui_it.cc): headless Chromium through chromedriver.
TEST_DEB_PACKAGES := chromium chromium-driver fonts-liberation

LIB_SRCS := $(wildcard lib/*.cc)
LIB_OBJS := $(LIB_SRCS:%.cc=$(BUILD)/%.o)
LIB_A := $(BUILD)/libjobpulse.a
UNIT_SRCS := $(wildcard tests/*_test.cc) tests/main_test.cc
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/%.o)
IT_SRCS := $(wildcard tests/integration/*.cc)
IT_OBJS := $(IT_SRCS:%.cc=$(BUILD)/%.o)
FCGI_OBJS := $(BUILD)/fcgi/main.o
WORKER_OBJS := $(BUILD)/worker/main.o
BENCH_SRCS := $(wildcard tests/bench/*.cc)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.cc=$(BUILD)/bench_%)
SIM_SRCS := $(wildcard tests/replicate_sim/*.cc)
SIM_OBJS := $(SIM_SRCS:%.cc=$(BUILD)/%.o)

FCGI_BIN := $(BUILD)/jobpulse-fcgi
WORKER_BIN := $(BUILD)/jobpulse-worker
UNIT_BIN := $(BUILD)/unit_tests
IT_BIN := $(BUILD)/integration_tests
SIM_BIN := $(BUILD)/replicate-sim

.PHONY: all deps test-deps bench-deps test unit-test integration-test bench run clean
.DEFAULT_GOAL := all

all: $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN) $(UNIT_BIN) $(IT_BIN)

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(FINAL_CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FCGI_BIN): $(FCGI_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ -lfcgi $(LDLIBS)

$(WORKER_BIN): $(WORKER_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ $(LDLIBS)

$(SIM_BIN): $(SIM_OBJS) $(LIB_A)
	$(CXX) $(FINAL_CXXFLAGS) $^ -o $@ -lz $(LDLIBS)

# Each benchmark is one file linked with the integration tests' stack helpers.
$(BUILD)/bench_%: $(BUILD)/tests/bench/%.o $(BUILD)/tests/integration/stack.o $(LIB_A)
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

test: deps test-deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@tests/run_suites $(UNIT_BIN) $(IT_BIN)

unit-test: $(UNIT_BIN)
	@tests/run_suites $(UNIT_BIN)

integration-test: $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN) $(IT_BIN)
	@tests/run_suites $(IT_BIN)

# Speed and cost targets of SPEC section 10, measured on this machine.
BENCH_DEB_PACKAGES := wrk

bench: deps bench-deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN) $(BENCH_BINS) \
	  $(BUILD)/bench_hello_fcgi
	@passed=0; failed=0; for b in $(BENCH_BINS); do \
	  if JOBPULSE_ROOT=$(CURDIR) JOBPULSE_BIN_DIR=$(abspath $(BUILD)) $$b; then \
	    passed=$$((passed + 1)); else failed=$$((failed + 1)); fi; \
	done; echo "$$passed passed, $$failed failed"; [ $$failed -eq 0 ]

run: deps
	@$(MAKE) --no-print-directory -s -j$(JOBS) $(FCGI_BIN) $(WORKER_BIN) $(SIM_BIN)
	@nginx/jobpulse-run

clean:
	rm -rf $(BUILD)

-include $(BUILD)/tests/bench/hello/hello_fcgi.d $(LIB_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(IT_OBJS:.o=.d) $(FCGI_OBJS:.o=.d) $(WORKER_OBJS:.o=.d) $(SIM_OBJS:.o=.d) \
  $(BENCH_SRCS:%.cc=$(BUILD)/%.d)
