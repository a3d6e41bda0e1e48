# fsynclab: flat, one rule per binary.  Library code is every .c under the
# module folders except a main.c; each tests/test_*.c is one Check binary.

CC      ?= cc
PREFIX  ?= /usr/local
# Another BUILD (e.g. build/asan) keeps a differently compiled tree apart;
# `make check` hands it to the scripts so they run that tree's binaries.
BUILD   ?= build
PKGS    := libcjson libfiu zlib

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS   := $(shell pkg-config --libs check)

# override: a CFLAGS given on the command line (CI's -Werror, the sanitizer
# flags) replaces the default -O2 -g but must not drop the project's flags.
override CPPFLAGS += -I. -D_GNU_SOURCE -DFIU_ENABLE
CFLAGS   ?= -O2 -g
override CFLAGS   += -std=c11 -Wall -Wextra -pthread $(PKG_CFLAGS)
override LDLIBS   += $(PKG_LIBS) -pthread -lm

MODULES := hist wal crashsim verifier node bench vm
LIB_SRC := $(filter-out %/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TESTS   := $(patsubst tests/%.c,$(BUILD)/%,$(wildcard tests/test_*.c))

all: $(BUILD)/fsynclab-node $(BUILD)/fsynclab $(BUILD)/fsynclab-vm $(BUILD)/bench/model/gather $(BUILD)/bench/model/crc

$(BUILD)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libfsynclab.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/fsynclab-node: $(BUILD)/node/main.o $(BUILD)/libfsynclab.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fsynclab: $(BUILD)/bench/main.o $(BUILD)/libfsynclab.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The driver of vm_crash_run until cli/ exposes it as `crash --vm`.
$(BUILD)/fsynclab-vm: $(BUILD)/vm/main.o $(BUILD)/libfsynclab.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The guest kit of `crash --vm` (docs/ground-truth.md): a Debian kernel, an
# initramfs with the writer, an ext4 image.  Slow the first time (a kernel
# download), so `make check` never builds it.  The writer runs in the guest,
# static and never with the sanitizers of CFLAGS/LDFLAGS.
GUEST_SRC := vm/guest/main.c $(wildcard wal/*.c) hist/hist.c
$(BUILD)/vm/fsynclab-guest: $(GUEST_SRC) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) -I. -D_GNU_SOURCE -O2 -std=c11 -Wall -Wextra -pthread -static -o $@ $(GUEST_SRC) -lz

vm: $(BUILD)/vm/fsynclab-guest vm/mkkit.sh
	bash vm/mkkit.sh $(BUILD)/vm $<

# Models behind docs/performance.md, with no fsynclab code in them.
# The gather of group commit:
$(BUILD)/bench/model/gather: $(BUILD)/bench/model/gather.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -pthread

# One zlib call against two for a record's CRC (wal/record.c).
$(BUILD)/bench/model/crc: $(BUILD)/bench/model/crc.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%.o: tests/%.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/test_%: $(BUILD)/tests/test_%.o $(BUILD)/libfsynclab.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

# Unit tests, then the end-to-end scripts.  Scratch files go under build/.
check: all $(TESTS)
	@mkdir -p $(BUILD)/scratch
	@set -e; for t in $(TESTS); do echo "== $$t"; FSYNCLAB_DIR=$(BUILD)/scratch $$t; done
	@set -e; for t in tests/e2e/*.sh; do echo "== $$t"; BUILD=$(BUILD) FSYNCLAB_DIR=$(BUILD)/scratch bash $$t; done

# fsynclab next to fio and pg_test_fsync, alternating; see docs/performance.md.
bench: all
	bash bench/compare.sh $(ROUNDS)

# The scripts that run the node, with the node under valgrind.  Use a gcc
# build: valgrind 3.19 cannot read the DWARF 5 that clang 14 writes.
VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible
check-valgrind: all
	@mkdir -p $(BUILD)/scratch
	@set -e; for t in tests/e2e/node_*.sh tests/e2e/cli.sh; do echo "== $$t (valgrind)"; \
	  BUILD=$(BUILD) FSYNCLAB_DIR=$(BUILD)/scratch NODE_WRAPPER="$(VALGRIND)" bash $$t; done

# libFuzzer over node_handle_line (clang only): the library is compiled
# again with coverage and ASan/UBSan into $(BUILD)/fuzz/, and the run starts
# from a copy of the seed corpus so that new inputs never land in tests/.
FUZZ_CC    ?= clang
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_RUNS  ?= 200000
FUZZ_OBJ   := $(LIB_SRC:%.c=$(BUILD)/fuzz/%.o)

$(BUILD)/fuzz/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz_node: $(BUILD)/fuzz/tests/fuzz/fuzz_node.o $(FUZZ_OBJ)
	$(FUZZ_CC) $(CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz: $(BUILD)/fuzz_node
	rm -rf $(BUILD)/fuzz-corpus && mkdir -p $(BUILD)/fuzz-corpus $(BUILD)/fuzz-artifacts
	cp tests/fuzz/corpus/* $(BUILD)/fuzz-corpus/
	$(BUILD)/fuzz_node -runs=$(FUZZ_RUNS) -seed=1 -max_len=8192 -timeout=10 \
	  -dict=tests/fuzz/node.dict -artifact_prefix=$(BUILD)/fuzz-artifacts/ $(BUILD)/fuzz-corpus

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/fsynclab-node $(BUILD)/fsynclab $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf $(BUILD)

.PHONY: all vm check check-valgrind fuzz bench install clean
.SECONDARY:
