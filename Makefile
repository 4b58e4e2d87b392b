# SPDX-License-Identifier: GPL-2.0-or-later
# portcullis — one GNU Makefile for the daemon, the command, tests and benches.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/portcullis
# The session feeds' scripts, run by Kea and FreeRADIUS (integrations/).
PKGLIBDIR ?= $(PREFIX)/lib/portcullis
# Where this machine's systemd looks, as its pkg-config file says.
SYSTEMDUNITDIR ?= $(call systemd_dir,systemdsystemunitdir,/lib/systemd/system)
SYSUSERSDIR ?= $(call systemd_dir,sysusersdir,/usr/lib/sysusers.d)
TMPFILESDIR ?= $(call systemd_dir,tmpfilesdir,/usr/lib/tmpfiles.d)
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
DESTDIR ?=
INSTALL ?= install

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := libnetfilter_queue libmnl yaml-0.1 libsystemd libcap libmicrohttpd \
	json-c zlib libnats

CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wmissing-prototypes \
	  -Wstrict-prototypes -Wshadow -Wcast-qual -Wpointer-arith \
	  -Wformat=2 -Wno-format-nonliteral -Wvla -fno-strict-aliasing \
	  -D_GNU_SOURCE -I. -MMD -MP
CFLAGS += $(BASE_CFLAGS)
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
# Every sanitizer report fails the run, leaks included (LeakSanitizer runs
# at each process's exit: the daemon's clean stop, each CLI command).
asan_options := halt_on_error=1:abort_on_error=1:detect_leaks=1
asan_options := $(asan_options):detect_stack_use_after_return=1
export ASAN_OPTIONS ?= $(asan_options):strict_string_checks=1
endif
export UBSAN_OPTIONS ?= halt_on_error=1:abort_on_error=1:print_stacktrace=1

DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEP_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
LDLIBS += -pthread -lm
systemd_dir = $(or $(shell $(PKG_CONFIG) --variable=$(1) systemd 2>/dev/null),$(2))

ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-7s %s\n'
endif

B := build
mods := common policy identity netlink stats blocklog cluster filter
lib_src := $(filter-out %/main.c,$(foreach m,$(mods),$(wildcard $(m)/*.c)))
lib_obj := $(lib_src:%.c=$(B)/%.o)
cli_obj := $(patsubst %.c,$(B)/%.o,$(wildcard cli/*.c))
test_src := $(wildcard tests/check_*.c)
# tests/helpers.c: what the suites share (tests/helpers.h), no suite itself.
test_obj := $(test_src:%.c=$(B)/%.o) $(B)/tests/runner.o $(B)/tests/helpers.o
suites := $(patsubst tests/check_%.c,%,$(test_src))
bench_src := $(wildcard bench/*.c)
bench_bin := $(patsubst bench/%.c,$(B)/bench/%,$(bench_src))

unit := $(B)/systemd/portcullis.service
man8 := doc/portcullisd.8 doc/portcullis.8
man5 := doc/portcullis-policy.5
examples := examples/policy.yaml examples/business.list
prom_rules := examples/prometheus/portcullis-rules.yml
# The session feeds: scripts to PKGLIBDIR, FreeRADIUS's configuration to
# DATADIR/portcullis, each with the installed paths written in.
integ_bin := integrations/kea/portcullis-kea-hook \
	integrations/freeradius/portcullis-radius-accounting
integ_conf := integrations/freeradius/mods-available/portcullis \
	integrations/freeradius/sites-available/portcullis
integ := $(integ_bin:%=$(B)/%) $(integ_conf:%=$(B)/%)

all: portcullisd portcullis $(unit) $(integ)

# Objects remember the flags they were built with: switching SANITIZE=1
# on or off (or CC, CFLAGS) rebuilds them instead of linking stale ones.
$(B)/build-flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(CFLAGS) $(LDFLAGS) $(LDLIBS)' >$@.tmp; \
	  cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(B)/%.o: %.c $(B)/build-flags
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -c -o $@ $<

$(B)/tests/%.o: tests/%.c $(B)/build-flags
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) $(CHECK_CFLAGS) -I$(B)/tests -c -o $@ $<

$(B)/libportcullis.a: $(lib_obj)
	$(quiet) AR $@
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

portcullisd: $(B)/filter/main.o $(B)/libportcullis.a
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) $(LDLIBS)

portcullis: $(cli_obj) $(B)/libportcullis.a
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) $(LDLIBS)

# The runner calls every tests/check_NAME.c's NAME_suite(); the list is
# generated so a new suite needs no edit here or in the runner.
$(B)/tests/suites.inc: $(test_src) Makefile
	@mkdir -p $(@D)
	$(Q)printf 'SUITE(%s)\n' $(suites) > $@.tmp && \
	  (cmp -s $@.tmp $@ || mv $@.tmp $@); rm -f $@.tmp
$(test_obj): $(B)/tests/suites.inc

$(B)/tests/check: $(test_obj) $(B)/libportcullis.a
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) $(CHECK_LIBS) $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libportcullis.a
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -o $@ $^ $(DEP_LIBS) $(LDLIBS)

# The unit names the installed paths: regenerated on every make, replaced
# only when PREFIX, SBINDIR or SYSCONFDIR made it differ.
$(unit): systemd/portcullis.service.in FORCE
	@mkdir -p $(@D)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  $< > $@.tmp && (cmp -s $@.tmp $@ || { printf '  %-7s %s\n' GEN $@; \
	  mv $@.tmp $@; }); rm -f $@.tmp

# Like the unit: the integrations name the installed portcullis and
# scripts, regenerated on every make, replaced only when they differ.
$(integ): $(B)/%: % FORCE
	@mkdir -p $(@D)
	$(Q)sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g' \
	  $< > $@.tmp && (cmp -s $@.tmp $@ || { printf '  %-7s %s\n' GEN $@; \
	  mv $@.tmp $@; }); rm -f $@.tmp

# The policy and its list go to SYSCONFDIR only where none is yet: an
# operator's policy is never overwritten. The examples are documentation.
install: all
	$(quiet) INSTALL '$(DESTDIR)'
	$(Q)$(INSTALL) -d '$(DESTDIR)$(SBINDIR)' '$(DESTDIR)$(BINDIR)' \
	  '$(DESTDIR)$(SYSCONFDIR)/portcullis' '$(DESTDIR)$(LOGROTATEDIR)' \
	  '$(DESTDIR)$(SYSTEMDUNITDIR)' '$(DESTDIR)$(SYSUSERSDIR)' \
	  '$(DESTDIR)$(TMPFILESDIR)' '$(DESTDIR)$(MANDIR)/man8' \
	  '$(DESTDIR)$(MANDIR)/man5' '$(DESTDIR)$(DOCDIR)/examples' \
	  '$(DESTDIR)$(DOCDIR)/examples/prometheus' '$(DESTDIR)$(PKGLIBDIR)' \
	  '$(DESTDIR)$(DATADIR)/portcullis/freeradius/mods-available' \
	  '$(DESTDIR)$(DATADIR)/portcullis/freeradius/sites-available'
	$(Q)$(INSTALL) -m 0755 portcullisd '$(DESTDIR)$(SBINDIR)/portcullisd'
	$(Q)$(INSTALL) -m 0755 portcullis '$(DESTDIR)$(BINDIR)/portcullis'
	$(Q)for f in $(notdir $(examples)); do \
	  t='$(DESTDIR)$(SYSCONFDIR)/portcullis'/$$f; \
	  if [ -e "$$t" ]; then echo "  KEEP    $$t"; \
	  else $(INSTALL) -m 0644 examples/$$f "$$t"; fi; done
	$(Q)$(INSTALL) -m 0644 $(examples) '$(DESTDIR)$(DOCDIR)/examples/'
	$(Q)$(INSTALL) -m 0644 $(prom_rules) \
	  '$(DESTDIR)$(DOCDIR)/examples/prometheus/'
	$(Q)$(INSTALL) -m 0644 README.md '$(DESTDIR)$(DOCDIR)/README.md'
	$(Q)$(INSTALL) -m 0644 $(unit) '$(DESTDIR)$(SYSTEMDUNITDIR)/portcullis.service'
	$(Q)$(INSTALL) -m 0644 systemd/portcullis.sysusers \
	  '$(DESTDIR)$(SYSUSERSDIR)/portcullis.conf'
	$(Q)$(INSTALL) -m 0644 systemd/portcullis.tmpfiles \
	  '$(DESTDIR)$(TMPFILESDIR)/portcullis.conf'
	$(Q)$(INSTALL) -m 0644 systemd/portcullis.logrotate \
	  '$(DESTDIR)$(LOGROTATEDIR)/portcullis'
	$(Q)$(INSTALL) -m 0644 $(man8) '$(DESTDIR)$(MANDIR)/man8/'
	$(Q)$(INSTALL) -m 0644 $(man5) '$(DESTDIR)$(MANDIR)/man5/'
	$(Q)$(INSTALL) -m 0755 $(integ_bin:%=$(B)/%) '$(DESTDIR)$(PKGLIBDIR)/'
	$(Q)for f in $(integ_conf:integrations/%=%); do \
	  $(INSTALL) -m 0644 $(B)/integrations/$$f \
	    '$(DESTDIR)$(DATADIR)/portcullis'/$$f || exit 1; done

# The operator's policy and list stay, like a package's conffiles on remove.
uninstall:
	$(quiet) RM '$(DESTDIR)'
	$(Q)rm -f '$(DESTDIR)$(SBINDIR)/portcullisd' '$(DESTDIR)$(BINDIR)/portcullis' \
	  '$(DESTDIR)$(SYSTEMDUNITDIR)/portcullis.service' \
	  '$(DESTDIR)$(SYSUSERSDIR)/portcullis.conf' \
	  '$(DESTDIR)$(TMPFILESDIR)/portcullis.conf' \
	  '$(DESTDIR)$(LOGROTATEDIR)/portcullis' \
	  $(foreach m,$(man8),'$(DESTDIR)$(MANDIR)/man8/$(notdir $(m))') \
	  $(foreach m,$(man5),'$(DESTDIR)$(MANDIR)/man5/$(notdir $(m))') \
	  $(foreach e,$(examples),'$(DESTDIR)$(DOCDIR)/examples/$(notdir $(e))') \
	  $(foreach e,$(prom_rules),'$(DESTDIR)$(DOCDIR)/examples/prometheus/$(notdir $(e))') \
	  '$(DESTDIR)$(DOCDIR)/README.md' \
	  $(foreach f,$(integ_bin),'$(DESTDIR)$(PKGLIBDIR)/$(notdir $(f))') \
	  $(foreach f,$(integ_conf),'$(DESTDIR)$(DATADIR)/portcullis/$(f:integrations/%=%)')
	$(Q)rmdir '$(DESTDIR)$(DOCDIR)/examples/prometheus' \
	  '$(DESTDIR)$(DOCDIR)/examples' '$(DESTDIR)$(DOCDIR)' 2>/dev/null || true
	$(Q)rmdir '$(DESTDIR)$(PKGLIBDIR)' \
	  '$(DESTDIR)$(DATADIR)/portcullis/freeradius/mods-available' \
	  '$(DESTDIR)$(DATADIR)/portcullis/freeradius/sites-available' \
	  '$(DESTDIR)$(DATADIR)/portcullis/freeradius' \
	  '$(DESTDIR)$(DATADIR)/portcullis' 2>/dev/null || true
	$(Q)for f in $(notdir $(examples)); do \
	  t='$(DESTDIR)$(SYSCONFDIR)/portcullis'/$$f; \
	  [ -e "$$t" ] && echo "  KEEP    $$t"; done; true

# Fuzzing (clang libFuzzer): tests/fuzz/fuzz_NAME.c against the library
# built a second time, with the fuzzer's coverage and ASan+UBSan, in
# build/fuzz/ (never mixed with the objects above). The committed seeds
# are tests/fuzz/corpus/NAME/; what a run finds goes to build/fuzz/.
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_CHECK_TIME ?= 20
FB := $(B)/fuzz
fuzz_names := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz_bin := $(fuzz_names:%=$(FB)/fuzz_%)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(BASE_CFLAGS)
# -timeout: an input that takes 10 s (an alias bomb, a quadratic walk)
# is a finding, not a slow run.
FUZZ_RUN_FLAGS := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_ARGS_policy := -dict=tests/fuzz/policy.dict
# The policy target confines list files to its own folder (fuzz_policy.c).
FUZZ_LDFLAGS_policy := -Wl,--wrap=open

$(FB)/toolchain-ok:
	@mkdir -p $(@D)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "fuzz: '$(FUZZ_CC)'" \
	  "not found: the fuzz targets need clang and its libFuzzer" \
	  "runtime (sh tests/deps.sh installs clang and libclang-rt-dev)" >&2; \
	  exit 1; }
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
	  'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return !d + (int)n * 0; }' | \
	  $(FUZZ_CC) -x c $(FUZZ_SAN) -fsanitize=fuzzer -o $(FB)/probe - || \
	  { echo "fuzz: $(FUZZ_CC) cannot link with -fsanitize=fuzzer: the" \
	  "libFuzzer runtime is missing (sh tests/deps.sh installs" \
	  "libclang-rt-dev)" >&2; exit 1; }
	@rm -f $(FB)/probe && touch $@

$(FB)/%.o: %.c | $(FB)/toolchain-ok
	$(quiet) FUZZCC $@
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEP_CFLAGS) -c -o $@ $<

$(FB)/libportcullis.a: $(lib_src:%.c=$(FB)/%.o)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FB)/fuzz_%: $(FB)/tests/fuzz/fuzz_%.o $(FB)/libportcullis.a
	$(quiet) LD $@
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_LDFLAGS_$*) -o $@ \
	  $^ $(DEP_LIBS) $(LDLIBS)

fuzz-build: $(fuzz_bin)
.SECONDARY: $(fuzz_bin) $(fuzz_names:%=$(FB)/tests/fuzz/fuzz_%.o)

# make fuzz [FUZZ_TIME=s]: each target for FUZZ_TIME seconds on its corpus
# in build/fuzz/corpus-NAME (seeded from the repository's, kept across
# runs); crashes are saved as build/fuzz/NAME-crash-*. With -j, in parallel.
fuzz: $(fuzz_names:%=fuzz-run-%)

fuzz-run-%: $(FB)/fuzz_%
	@mkdir -p $(FB)/corpus-$*
	$(Q)cp tests/fuzz/corpus/$*/* $(FB)/corpus-$*/
	$(Q)./$< $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_TIME) \
	  -artifact_prefix=$(FB)/$*- $(FUZZ_ARGS_$*) $(FB)/corpus-$*

# make fuzz-check [FUZZ_CHECK_TIME=s]: replay every committed seed, then
# fuzz each target for a bounded time on a scratch copy (0: replay only).
# Any crash, leak, UB or broken invariant fails; the log is shown then.
fuzz-check: $(fuzz_names:%=fuzz-check-%)

fuzz-check-%: $(FB)/fuzz_%
	$(Q)log=$(FB)/check-$*.log; \
	./$< $(FUZZ_RUN_FLAGS) $(FUZZ_ARGS_$*) tests/fuzz/corpus/$*/* >$$log 2>&1 || \
	  { tail -n 60 $$log; echo "fuzz-check $*: a committed seed fails"; exit 1; }; \
	printf '  %-7s fuzz_%s: %s seeds replayed' FUZZ $* \
	  "$$(ls tests/fuzz/corpus/$*/ | wc -l)"; \
	if [ "$(FUZZ_CHECK_TIME)" -gt 0 ]; then \
	  rm -rf $(FB)/check-$* && mkdir -p $(FB)/check-$* && \
	  cp tests/fuzz/corpus/$*/* $(FB)/check-$*/ && \
	  ./$< $(FUZZ_RUN_FLAGS) $(FUZZ_ARGS_$*) -max_total_time=$(FUZZ_CHECK_TIME) \
	    -artifact_prefix=$(FB)/$*- $(FB)/check-$* >$$log 2>&1 || \
	    { echo; tail -n 60 $$log; echo "fuzz-check $*: crash, see above" \
	      "and $(FB)/$*-crash-*"; exit 1; }; \
	  printf ', %s runs in %s s, %s\n' \
	    "$$(sed -n 's/^stat::number_of_executed_units: //p' $$log)" \
	    "$(FUZZ_CHECK_TIME)" "$$(grep -o 'cov: [0-9]* ft: [0-9]*' $$log | tail -n 1)"; \
	else echo; fi

deps:
	$(Q)sh tests/deps.sh

# Two halves side by side (two cores): the heaviest suites, and the rest.
# Each suite is a process of its own: Check forks for every test, and a
# fork of a runner grown large by an earlier suite's tests (ASan's shadow
# most of all) costs more each time: 4 minutes in one process under ASan,
# 80 s this way.
UNIT_HEAVY := table identity
unit_light = $(filter-out $(UNIT_HEAVY),$(suites))
unit_run = f=0; for s in $(1); do \
	  CK_DEFAULT_TIMEOUT=120 ./$(B)/tests/check $$s || f=1; done; \
	  [ $$f -eq 0 ]
unit: $(B)/tests/check
	$(Q)( $(call unit_run,$(UNIT_HEAVY)) ) & \
	  ( $(call unit_run,$(unit_light)) ); b=$$?; \
	  wait $$!; a=$$?; [ $$a -eq 0 ] && [ $$b -eq 0 ]

check: deps
	$(Q)$(MAKE) --no-print-directory all $(B)/tests/check
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory check-cli
	$(Q)$(MAKE) --no-print-directory check-report
	$(Q)$(MAKE) --no-print-directory check-prometheus
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory check-sandbox
	$(Q)$(MAKE) --no-print-directory check-install
	$(Q)if [ "$(SANITIZE)" = 1 ]; then echo "  FUZZ    skipped: the fuzz" \
	  "targets are ASan+UBSan builds whatever SANITIZE says (make check" \
	  "ran them)"; else $(MAKE) --no-print-directory -j2 fuzz-check; fi

# The unit tests under valgrind's memcheck in two processes side by side,
# the heaviest suites and the rest (CK_FORK=no: no forks, so one process
# a half costs nothing, and every leak is seen); any error or
# definite/indirect leak fails.
valgrind: $(B)/tests/check
	@[ "$(SANITIZE)" != 1 ] || { echo "valgrind: not with SANITIZE=1" \
	  "(ASan and valgrind exclude each other)" >&2; exit 1; }
	@command -v valgrind >/dev/null 2>&1 || { echo "valgrind: not" \
	  "installed (sh tests/deps.sh installs it)" >&2; exit 1; }
	$(Q)$(VALGRIND) ./$(B)/tests/check $(VALGRIND_HEAVY) & \
	  $(VALGRIND) ./$(B)/tests/check -x $(VALGRIND_HEAVY); b=$$?; \
	  wait $$!; a=$$?; [ $$a -eq 0 ] && [ $$b -eq 0 ]
VALGRIND = CK_FORK=no valgrind -q --error-exitcode=1 --leak-check=full \
	  --show-leak-kinds=definite,indirect \
	  --errors-for-leak-kinds=definite,indirect
VALGRIND_HEAVY := table ruleset

check-cli: portcullis
	$(Q)sh tests/cli.sh

# portcullis report loaded in headless Chromium (tests/browser.py); the
# screenshots stay in build/report/.
check-report: portcullis
	$(Q)bash tests/report.sh

# The example Prometheus rules: promtool check rules and test rules.
check-prometheus:
	$(Q)sh tests/promtool.sh

e2e: all $(B)/bench/syngen $(B)/bench/leakcount
	$(Q)bash tests/e2e.sh
	$(Q)bash tests/e2e_kea.sh
	$(Q)bash tests/e2e_radius.sh
	$(Q)bash tests/e2e_cluster.sh
	$(Q)bash tests/e2e_cluster_tls.sh

# The daemon as portcullis.service runs it: unprivileged, CAP_NET_ADMIN
# only, traced against the unit's hardening.
check-sandbox: all
	$(Q)bash tests/sandbox.sh

check-install: all
	$(Q)sh tests/install.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tests/demo.sh

# Then the session look-up's share of a decision at 1M sessions
# (bench_identity: BENCH_IDENTITY_ARGS).
bench-policy: $(B)/bench/bench_policy $(B)/bench/bench_identity
	$(Q)./$(B)/bench/bench_policy $(BENCH_ARGS)
	$(Q)./$(B)/bench/bench_identity $(BENCH_IDENTITY_ARGS)

# What a shadow policy adds to a SYN's decision (bench/shadow.sh).
bench-shadow: $(B)/bench/bench_shadow
	$(Q)bash bench/shadow.sh

bench-stats: $(B)/bench/bench_stats
	$(Q)./$(B)/bench/bench_stats $(BENCH_ARGS)

# The kernel quarantine at 100,000 subscribers (root, a namespace of its
# own): the sync, and the counters read back each second.
bench-qcount: $(B)/bench/bench_qcount
	$(Q)./$(B)/bench/bench_qcount $(BENCH_ARGS)

# portcullis log --top 20 over a generated 10-million-line log (~1.7 GB in
# TMPDIR, removed afterwards): seconds and peak RSS.
$(B)/bench/bench_log: LDLIBS += -lm
bench-log: $(B)/bench/bench_log portcullis
	$(Q)./$(B)/bench/bench_log $(BENCH_ARGS) ./portcullis

# The kernel fallback at 1M prefixes (bench/fallback.sh): start, reload
# and stop times, the sets' kernel memory, the idle check's CPU.
bench-fallback: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash bench/fallback.sh

# The SYN path against its references (bench/bench.sh): root, the lab's
# namespaces, about ten minutes; BENCH_QUICK=1 for one short repetition.
bench_tools := syngen leakcount minimal_consumer tcplat qwatch sessload
bench: deps
	$(Q)$(MAKE) --no-print-directory all $(bench_tools:%=$(B)/bench/%)
	$(Q)bash bench/bench.sh

# Session changes through the control socket (10,000 a second) against
# the connect latency a subscriber sees (bench/sessions.sh): root, the lab.
bench-sessions: deps
	$(Q)$(MAKE) --no-print-directory all $(B)/bench/sessload $(B)/bench/tcplat
	$(Q)bash bench/sessions.sh

# Many gateways over a NATS JetStream cluster (bench/cluster.sh): root,
# the cluster lab; a quarantine's way from one gateway's block log to
# another's kernel set, and a new gateway loading 100,000 records
# (written by bench/kvfill, libnats).
bench-cluster: deps
	$(Q)$(MAKE) --no-print-directory all $(B)/bench/kvfill
	$(Q)bash bench/cluster.sh
.PHONY: bench-cluster

# Where a SYN's time goes (perf, every core) while queues are drained.
bench-profile: deps
	$(Q)$(MAKE) --no-print-directory all $(bench_tools:%=$(B)/bench/%)
	$(Q)bash bench/bench.sh profile

clean:
	rm -rf $(B) portcullisd portcullis

.PHONY: all deps unit check check-cli check-report check-prometheus e2e check-sandbox check-install demo \
	bench bench-profile bench-sessions bench-policy bench-shadow bench-stats bench-log bench-qcount bench-fallback install uninstall clean FORCE \
	fuzz fuzz-build fuzz-check valgrind

-include $(shell find $(B) -name '*.d' 2>/dev/null)
