# rampart build. `make run` and `make test` do all the set-up (README.md).

CC ?= cc
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CPPFLAGS += -Isrc -D_GNU_SOURCE
STD = -std=gnu11
LIBS = -lpcre2-8 -lssl -lcrypto -lnghttp2 -lz -lbrotlienc -lbrotlidec -lzstd -lpthread

SRC := $(sort $(wildcard src/*/*.c))
MAIN := src/main.c
OBJ := $(SRC:%.c=build/%.o)
ASAN_OBJ := $(SRC:%.c=build-asan/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 20
PYTEST = /usr/bin/python3 -m pytest
E2E_ARGS ?=

ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_FLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined

.PHONY: all run test unit e2e e2e-asan fuzz fuzz-build asan deps-build deps-test bench clean format format-check

all: rampart

deps-build:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

rampart: build/librampart.a build/src/main.o
	$(CC) $(CFLAGS) -o $@ build/src/main.o build/librampart.a $(LIBS)

build/librampart.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

build/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(CFLAGS) $(WARN) $(CPPFLAGS) -MMD -c -o $@ $<

build-asan/rampart: build-asan/librampart.a build-asan/src/main.o
	$(CC) $(ASAN_FLAGS) -o $@ build-asan/src/main.o build-asan/librampart.a $(LIBS)

build-asan/librampart.a: $(ASAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

build-asan/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) -c -o $@ $<

asan: build-asan/rampart

build/tests/%: tests/unit/%.c build/librampart.a
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(CFLAGS) $(WARN) $(CPPFLAGS) -o $@ $< build/librampart.a $(LIBS) -lcmocka

unit: $(UNIT_BIN)
	@fail=0; total=0; for t in $(UNIT_BIN); do total=$$((total+1)); \
	  $$t >/tmp/rampart-unit.$$$$ 2>&1 || { fail=$$((fail+1)); cat /tmp/rampart-unit.$$$$; }; \
	  grep -h -E '^\[  (PASSED|FAILED)  \]' /tmp/rampart-unit.$$$$ | sed "s|^|$$(basename $$t): |"; \
	done; rm -f /tmp/rampart-unit.$$$$; \
	echo "unit: $$total test programs, $$fail failed"; test $$fail -eq 0

e2e: rampart
	RAMPART_BIN=$(CURDIR)/rampart $(PYTEST) -q -p no:cacheprovider tests/e2e $(E2E_ARGS)

e2e-asan: build-asan/rampart
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	RAMPART_BIN=$(CURDIR)/build-asan/rampart RAMPART_ASAN=1 $(PYTEST) -q -p no:cacheprovider tests/e2e $(E2E_ARGS)

build-fuzz/%: tests/fuzz/%.c $(SRC) $(wildcard src/*/*.h)
	@mkdir -p build-fuzz
	clang $(STD) $(FUZZ_FLAGS) $(CPPFLAGS) -fsanitize=fuzzer -o $@ $< $(SRC) $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus-$$n; \
	  seeds=""; [ -d tests/fuzz/corpus/$$n ] && seeds=tests/fuzz/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build-fuzz/corpus-$$n $$seeds \
	    $$( [ -f tests/fuzz/$$n.dict ] && echo -dict=tests/fuzz/$$n.dict ) 2>build-fuzz/$$n.log \
	    || { tail -50 build-fuzz/$$n.log; exit 1; }; \
	  grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs)' build-fuzz/$$n.log | tail -1 | sed "s|^|fuzz: $$n: |"; \
	done

test: deps-test
	$(MAKE) format-check
	$(MAKE) rampart
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) e2e-asan
	$(MAKE) fuzz

run: deps-build rampart
	./rampart -p $(CURDIR)/ -c examples/quickstart.conf -g 'daemon off;'

bench: rampart
	@scripts/deps.sh bench
	bench/run.sh

FORMAT_FILES = $(SRC) $(wildcard src/*/*.h) $(MAIN) $(UNIT_SRC) $(FUZZ_SRC)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files clean"

clean:
	rm -rf build build-asan build-fuzz rampart

-include $(OBJ:.o=.d)
