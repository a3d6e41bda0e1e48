# fsynclab: flat, one rule per binary.  Library code is every .c under the
# module folders except a main.c; each tests/test_*.c is one Check binary.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   := build
PKGS    := libcjson libfiu zlib

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS   := $(shell pkg-config --libs check)

CPPFLAGS += -I. -D_GNU_SOURCE -DFIU_ENABLE
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -pthread $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -pthread -lm

MODULES := hist wal crashsim verifier node bench
LIB_SRC := $(filter-out %/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TESTS   := $(patsubst tests/%.c,$(BUILD)/%,$(wildcard tests/test_*.c))

all: $(BUILD)/fsynclab-node $(BUILD)/fsynclab

$(BUILD)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libfsynclab.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/fsynclab-node: $(BUILD)/node/main.o $(BUILD)/libfsynclab.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fsynclab: $(BUILD)/bench/main.o $(BUILD)/libfsynclab.a
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
	@set -e; for t in tests/e2e/*.sh; do echo "== $$t"; FSYNCLAB_DIR=$(BUILD)/scratch bash $$t; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/fsynclab-node $(BUILD)/fsynclab $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf $(BUILD)

.PHONY: all check install clean
.SECONDARY:
