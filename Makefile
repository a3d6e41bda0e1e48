# fsynclab: flat, one rule per binary.  Library code is every .c under the
# module folders except a main.c; each tests/test_*.c is one Check binary.

CC      ?= cc
PREFIX  ?= /usr/local
# Another BUILD (e.g. build/asan) keeps a differently compiled tree apart;
# `make check` hands it to the scripts so they run that tree's binaries.
BUILD   ?= build
PKGS    := libcjson libfiu zlib hiredis sqlite3 libpq

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

MODULES := hist wal crashsim verifier node bench recorder recorder/targets
# recorder/preload*.c is the LD_PRELOAD library and *_worker.c are programs
# run under it: none of them belongs in libfsynclab.a.
LIB_SRC := $(filter-out %/main.c recorder/preload%.c %_worker.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TESTS   := $(patsubst tests/%.c,$(BUILD)/%,$(wildcard tests/test_*.c))

REC_BINS := $(BUILD)/libfsynclab-rec.so $(BUILD)/fsynclab-sqlite-worker $(BUILD)/rec_probe $(BUILD)/fsynclab-rec
all: $(BUILD)/fsynclab-node $(BUILD)/fsynclab $(BUILD)/bench/model/gather $(BUILD)/bench/model/crc $(REC_BINS)

$(BUILD)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libfsynclab.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/fsynclab-node: $(BUILD)/node/main.o $(BUILD)/libfsynclab.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fsynclab: $(BUILD)/bench/main.o $(BUILD)/libfsynclab.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Models behind docs/performance.md, with no fsynclab code in them.
# The gather of group commit:
$(BUILD)/bench/model/gather: $(BUILD)/bench/model/gather.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -pthread

# One zlib call against two for a record's CRC (wal/record.c).
$(BUILD)/bench/model/crc: $(BUILD)/bench/model/crc.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# What runs with the recorder preloaded is never built with sanitizers (the
# ASan runtime must come first in a process) and without the 64-bit
# off_t redirections, so that open and open64 stay two symbols.
REC_CFLAGS := $(filter -O% -g% -W%,$(CFLAGS)) -std=c11 -Wall -Wextra -pthread -I. -D_GNU_SOURCE
$(BUILD)/libfsynclab-rec.so: recorder/preload.c recorder/preload_io.c recorder/preload.h recorder/recorder.h
	@mkdir -p $(dir $@)
	$(CC) $(REC_CFLAGS) -U_FORTIFY_SOURCE -fPIC -shared -o $@ recorder/preload.c recorder/preload_io.c -ldl

$(BUILD)/fsynclab-sqlite-worker: recorder/targets/sqlite_worker.c
	@mkdir -p $(dir $@)
	$(CC) $(REC_CFLAGS) -o $@ $< $(shell pkg-config --cflags --libs sqlite3)

# A stand-in command line for `fsynclab record|image|crash` until cli/ lands.
$(BUILD)/fsynclab-rec: $(BUILD)/tests/rec_cli.o $(BUILD)/libfsynclab.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/rec_probe: tests/rec_probe.c
	@mkdir -p $(dir $@)
	$(CC) $(REC_CFLAGS) -o $@ $<

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

.PHONY: all check check-valgrind fuzz bench install clean
.SECONDARY:
