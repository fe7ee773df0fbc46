# SPDX-License-Identifier: GPL-2.0
# veer: BPF objects -> bpftool gen object -> gen skeleton; libveer; the veer CLI; tests.

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= gcc
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS   ?= -O2 -g
# Always applied, even when CFLAGS is given on the command line.
override CFLAGS += -Wall -Wextra -Werror=implicit-function-declaration -std=gnu11 -D_GNU_SOURCE
CPPFLAGS += -Iinclude -Iuser/lib -I$(BUILD)
LDLIBS   += -lxdp -lbpf -ljson-c -lhiredis -lyaml -lcurl -lssl -lcrypto -lelf -lz
# veerd alone: its HTTP endpoint, capabilities and systemd readiness.
VEERD_LDLIBS := -lmicrohttpd -lcap -lsystemd

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function \
	-Iinclude -Ibpf -I/usr/include/$(MULTIARCH)

# Data-plane programs: one entry file per attach point.
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/lib/*.h) include/veer/abi.h

# Programs used only by tests and benchmarks (empty baseline, traffic generator, sink, floor).
TBPF_SRCS  := $(wildcard tests/bpf/*.bpf.c)
TBPF_SKELS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/%.skel.h,$(TBPF_SRCS))

LIB_SRCS := $(wildcard user/lib/*.c)
LIB_OBJS := $(patsubst user/lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRCS))
LIB_HDRS := $(wildcard user/lib/*.h) include/veer/abi.h

UNIT_SRCS := $(wildcard tests/unit/*.c)
BENCH_SRCS := $(wildcard tests/bench/*.c)

.PHONY: all clean install deps test unit fuzz e2e demo bench format
.DELETE_ON_ERROR:
# Keep objects and skeletons: they are prerequisites of libveer and the test runners.
.SECONDARY:

all: $(BUILD)/veer $(BUILD)/veerd $(BUILD)/veer-unit $(if $(BENCH_SRCS),$(BUILD)/veer-bench) $(BUILD)/veer-cache-diff \
	$(BUILD)/fwproxy

$(BUILD) $(BUILD)/lib:
	@mkdir -p $@

$(BUILD)/%.tmp.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.tmp.bpf.o: tests/bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.bpf.o: $(BUILD)/%.tmp.bpf.o
	$(BPFTOOL) gen object $@ $<

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(BUILD)/lib/%.o: user/lib/%.c $(LIB_HDRS) $(BPF_SKELS) | $(BUILD)/lib
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libveer.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

# The CLI: main and dispatch in user/veer.c, the commands by concern under user/cli/.
CLI_SRCS := user/veer.c $(wildcard user/cli/*.c)
CLI_HDRS := $(wildcard user/cli/*.h)

$(BUILD)/veer: $(CLI_SRCS) $(CLI_HDRS) $(BUILD)/libveer.a $(LIB_HDRS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CLI_SRCS) $(BUILD)/libveer.a $(LDLIBS) -o $@

# The daemon: one header, one file per role, under user/veerd/.
VEERD_SRCS := $(wildcard user/veerd/*.c)

$(BUILD)/veerd: $(VEERD_SRCS) $(wildcard user/veerd/*.h) $(BUILD)/libveer.a $(LIB_HDRS)
	$(CC) $(CPPFLAGS) -Iuser/veerd $(CFLAGS) $(VEERD_SRCS) $(BUILD)/libveer.a $(LDLIBS) \
		$(VEERD_LDLIBS) -o $@

# veerd's modules the unit tests run as veerd does: the exporter on its event loop. The health
# checker too (tests/unit/test_health.c), built by tests/unit/health_real.c under other names
# for the two functions test_veerd_metrics.c stands in for. The etcd gateway's messages
# (tests/unit/test_etcd.c) and the Kubernetes source's view and kubeconfig
# (tests/unit/test_k8s_view.c). The event stream
# (tests/unit/test_veerd_events.c), the webhooks' queue (tests/unit/test_webhook_queue.c).
UNIT_VEERD := user/veerd/metrics.c user/veerd/loop.c user/veerd/log.c user/veerd/http.c \
	user/veerd/etcd_gateway.c user/veerd/k8s_view.c user/veerd/events.c \
	user/veerd/webhook_queue.c

$(BUILD)/veer-unit: $(UNIT_SRCS) $(UNIT_VEERD) user/veerd/health.c $(wildcard tests/unit/*.h) $(wildcard user/veerd/*.h) $(BUILD)/libveer.a $(BPF_SKELS) $(TBPF_SKELS)
	$(CC) $(CPPFLAGS) -Itests/unit -Iuser/veerd $(CFLAGS) $(UNIT_SRCS) $(UNIT_VEERD) $(BUILD)/libveer.a \
		$(LDLIBS) -lmicrohttpd -lm -o $@

# The per-packet benchmark builds its ICMP, fragment and IPv6 frames with the unit fixtures'
# packet builder (tests/unit/packet.c).
BENCH_PKT := tests/unit/packet.c

# `veer-bench health` runs veerd's health checker as veerd does: on its loop; `veer-bench etcd`
# writes to etcd with the gateway's request bodies as veerd makes them.
BENCH_VEERD := user/veerd/health.c user/veerd/loop.c user/veerd/log.c user/veerd/etcd_gateway.c

$(BUILD)/veer-bench: $(BENCH_SRCS) $(wildcard tests/bench/*.h) $(BENCH_PKT) tests/unit/packet.h $(BENCH_VEERD) user/veerd/veerd.h $(BUILD)/libveer.a $(BPF_SKELS) $(TBPF_SKELS)
	$(CC) $(CPPFLAGS) -Itests/bench -Itests/unit -Iuser/veerd $(CFLAGS) $(BENCH_SRCS) $(BENCH_PKT) $(BENCH_VEERD) \
		$(BUILD)/libveer.a $(LDLIBS) -lm -o $@

# A transparent forward proxy for `veer proxy` rules: the e2e tests' proxy and an example.
$(BUILD)/fwproxy: examples/fwproxy.c $(BUILD)/libveer.a $(LIB_HDRS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(BUILD)/libveer.a $(LDLIBS) -o $@

# The cache's differential fuzz driver (tests/e2e/cache_diff.bats runs it in the testbed).
$(BUILD)/veer-cache-diff: tests/fuzz/cache_diff.c $(BUILD)/libveer.a $(LIB_HDRS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(BUILD)/libveer.a $(LDLIBS) -o $@

deps:
	scripts/deps.sh

unit: all
	$(BUILD)/veer-unit

# The data plane's fuzz test at length (the unit run has a short one): VEER_FUZZ_PACKETS cases
# (default 10M) from a random seed, printed first; VEER_FUZZ_SEED=0x.. replays a run, with
# VEER_FUZZ_START=N VEER_FUZZ_PACKETS=1 one case of it.
# Then the cache's differential fuzz against the real servers: VEER_CACHE_DIFF_STREAMS streams
# per protocol (default 20000) from VEER_CACHE_DIFF_SEED (default random, printed).
fuzz: all
	VEER_FUZZ_PACKETS=$${VEER_FUZZ_PACKETS:-10000000} VEER_FUZZ_SEED=$${VEER_FUZZ_SEED:-random} \
		$(BUILD)/veer-unit lb_fuzz
	VEER_CACHE_DIFF_STREAMS=$${VEER_CACHE_DIFF_STREAMS:-20000} \
		VEER_CACHE_DIFF_SEED=$${VEER_CACHE_DIFF_SEED:-random} bats tests/e2e/cache_diff.bats

# The e2e suites, failing on any skip that names no missing kernel feature (tests/e2e/run.sh).
e2e: all
	tests/e2e/run.sh

test: deps
	$(MAKE) all
	$(BUILD)/veer-unit
	tests/e2e/run.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh
	scripts/demo_veerd.sh
	scripts/demo_cache.sh

bench: deps
	$(MAKE) all
	scripts/bench.sh
	scripts/bench_cache.sh

install: $(BUILD)/veer $(BUILD)/veerd
	install -D -m 0755 $(BUILD)/veer $(DESTDIR)$(PREFIX)/sbin/veer
	install -D -m 0755 $(BUILD)/veerd $(DESTDIR)$(PREFIX)/sbin/veerd
	install -D -m 0644 docs/veer.8 $(DESTDIR)$(PREFIX)/share/man/man8/veer.8
	install -D -m 0644 docs/veerd.8 $(DESTDIR)$(PREFIX)/share/man/man8/veerd.8
	# The unit names veerd where this install puts it.
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|g' deploy/veerd.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/veerd.service
	install -D -m 0644 include/veer/abi.h $(DESTDIR)$(PREFIX)/include/veer/abi.h

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
