# SPDX-License-Identifier: GPL-2.0-or-later
# portcullis — one GNU Makefile for the daemon, the command, tests and benches.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/portcullis
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
	json-c zlib

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wmissing-prototypes \
	  -Wstrict-prototypes -Wshadow -Wcast-qual -Wpointer-arith \
	  -Wformat=2 -Wno-format-nonliteral -Wvla -fno-strict-aliasing \
	  -D_GNU_SOURCE -I. -MMD -MP
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

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
mods := common policy netlink stats filter
lib_src := $(filter-out %/main.c,$(foreach m,$(mods),$(wildcard $(m)/*.c)))
lib_obj := $(lib_src:%.c=$(B)/%.o)
cli_obj := $(patsubst %.c,$(B)/%.o,$(wildcard cli/*.c))
# portcullis log's pieces, also linked into the unit tests.
logread_obj := $(patsubst %.c,$(B)/%.o,$(wildcard cli/logread_*.c))
test_src := $(wildcard tests/check_*.c)
test_obj := $(test_src:%.c=$(B)/%.o) $(B)/tests/runner.o
suites := $(patsubst tests/check_%.c,%,$(test_src))
bench_src := $(wildcard bench/*.c)
bench_bin := $(patsubst bench/%.c,$(B)/bench/%,$(bench_src))

unit := $(B)/systemd/portcullis.service
man8 := doc/portcullisd.8 doc/portcullis.8
man5 := doc/portcullis-policy.5
examples := examples/policy.yaml examples/business.list

all: portcullisd portcullis $(unit)

$(B)/%.o: %.c
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEP_CFLAGS) -c -o $@ $<

$(B)/tests/%.o: tests/%.c
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

$(B)/tests/check: $(test_obj) $(logread_obj) $(B)/libportcullis.a
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

# The policy and its list go to SYSCONFDIR only where none is yet: an
# operator's policy is never overwritten. The examples are documentation.
install: all
	$(quiet) INSTALL '$(DESTDIR)'
	$(Q)$(INSTALL) -d '$(DESTDIR)$(SBINDIR)' '$(DESTDIR)$(BINDIR)' \
	  '$(DESTDIR)$(SYSCONFDIR)/portcullis' '$(DESTDIR)$(LOGROTATEDIR)' \
	  '$(DESTDIR)$(SYSTEMDUNITDIR)' '$(DESTDIR)$(SYSUSERSDIR)' \
	  '$(DESTDIR)$(TMPFILESDIR)' '$(DESTDIR)$(MANDIR)/man8' \
	  '$(DESTDIR)$(MANDIR)/man5' '$(DESTDIR)$(DOCDIR)/examples'
	$(Q)$(INSTALL) -m 0755 portcullisd '$(DESTDIR)$(SBINDIR)/portcullisd'
	$(Q)$(INSTALL) -m 0755 portcullis '$(DESTDIR)$(BINDIR)/portcullis'
	$(Q)for f in $(notdir $(examples)); do \
	  t='$(DESTDIR)$(SYSCONFDIR)/portcullis'/$$f; \
	  if [ -e "$$t" ]; then echo "  KEEP    $$t"; \
	  else $(INSTALL) -m 0644 examples/$$f "$$t"; fi; done
	$(Q)$(INSTALL) -m 0644 $(examples) '$(DESTDIR)$(DOCDIR)/examples/'
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
	  '$(DESTDIR)$(DOCDIR)/README.md'
	$(Q)rmdir '$(DESTDIR)$(DOCDIR)/examples' '$(DESTDIR)$(DOCDIR)' 2>/dev/null || true
	$(Q)for f in $(notdir $(examples)); do \
	  t='$(DESTDIR)$(SYSCONFDIR)/portcullis'/$$f; \
	  [ -e "$$t" ] && echo "  KEEP    $$t"; done; true

deps:
	$(Q)sh tests/deps.sh

unit: $(B)/tests/check
	$(Q)CK_DEFAULT_TIMEOUT=120 ./$(B)/tests/check

check: deps
	$(Q)$(MAKE) --no-print-directory all $(B)/tests/check
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory check-cli
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory check-sandbox
	$(Q)$(MAKE) --no-print-directory check-install

check-cli: portcullis
	$(Q)sh tests/cli.sh

e2e: all
	$(Q)bash tests/e2e.sh

# The daemon as portcullis.service runs it: unprivileged, CAP_NET_ADMIN
# only, traced against the unit's hardening.
check-sandbox: all
	$(Q)bash tests/sandbox.sh

check-install: all
	$(Q)sh tests/install.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tests/demo.sh

bench-policy: $(B)/bench/bench_policy
	$(Q)./$(B)/bench/bench_policy $(BENCH_ARGS)

bench-stats: $(B)/bench/bench_stats
	$(Q)./$(B)/bench/bench_stats $(BENCH_ARGS)

# portcullis log --top 20 over a generated 10-million-line log (~1.7 GB in
# TMPDIR, removed afterwards): seconds and peak RSS.
$(B)/bench/bench_log: LDLIBS += -lm
bench-log: $(B)/bench/bench_log portcullis
	$(Q)./$(B)/bench/bench_log $(BENCH_ARGS) ./portcullis

clean:
	rm -rf $(B) portcullisd portcullis

.PHONY: all deps unit check check-cli e2e check-sandbox check-install demo \
	bench-policy bench-stats bench-log install uninstall clean FORCE

-include $(shell find $(B) -name '*.d' 2>/dev/null)
