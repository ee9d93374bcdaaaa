# Thin wrapper over meson + ninja.  'make check' is the test command CI runs;
# it installs what it needs first (scripts/install-deps), so a fresh Debian 12
# machine needs nothing else.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_OPT  ?= build-release
FUZZ_SECONDS ?= 10
DURATION   ?= 600

.PHONY: all build deps check check-unit check-asan check-asan-all check-valgrind fuzz fuzz-smoke bench soak demo clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Everything: unit + integration tests, then a short fuzz pass.
check: deps build
	@rc=0; meson test -C $(BUILD) --print-errorlogs --num-processes 2 || rc=$$?; \
	  scripts/test-summary $(BUILD) || rc=1; \
	  [ $$rc -eq 0 ] && $(MAKE) --no-print-directory fuzz-smoke || exit 1

check-unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

# Unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
check-asan: deps
	[ -f $(BUILD_ASAN)/build.ninja ] || meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(BUILD_ASAN) --suite unit --print-errorlogs
	scripts/test-summary $(BUILD_ASAN)

# Unit tests under valgrind memcheck, then the integration suite with every
# braid program it starts (braidd, the CLI, the test programs) under
# memcheck too: any error or definite leak fails.  Slow (~30 min); not in CI.
check-valgrind: deps build
	meson test -C $(BUILD) --suite unit --print-errorlogs \
	  --wrapper 'valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --quiet'
	scripts/test-summary $(BUILD) testlog-valgrind.json
	rm -rf $(BUILD)/valgrind-logs
	BRAID_VALGRIND_DIR=$(abspath $(BUILD))/valgrind-logs \
	  meson test -C $(BUILD) --suite integration --print-errorlogs --num-processes 2 --timeout-multiplier 4
	scripts/test-summary $(BUILD)
	scripts/valgrind-summary $(BUILD)/valgrind-logs

# Every test, unit and integration, with braid built under ASan + UBSan
# (braidd, the CLI and the test programs too).
check-asan-all: check-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(BUILD_ASAN) --suite integration --print-errorlogs --num-processes 2
	scripts/test-summary $(BUILD_ASAN)

$(BUILD_FUZZ)/build.ninja:
	CC=clang meson setup $(BUILD_FUZZ) -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# Each harness for FUZZ_SECONDS (default 10); 'make fuzz FUZZ_SECONDS=600'.
fuzz: deps $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	scripts/run-fuzz $(BUILD_FUZZ) $(FUZZ_SECONDS)

fuzz-smoke: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	scripts/run-fuzz $(BUILD_FUZZ) 5

$(BUILD_OPT)/build.ninja:
	meson setup $(BUILD_OPT) -Dbuildtype=release -Dtests=false

bench: deps $(BUILD_OPT)/build.ninja
	ninja -C $(BUILD_OPT)
	bench/run $(BUILD_OPT)

# braidd under verified I/O and injected faults for DURATION (seconds, or
# e.g. 30m); SEED replays a run.  Not part of 'make check'.
soak: deps build
	tests/soak/soak.sh $(BUILD) $(DURATION) $(SEED)

demo: deps build
	scripts/demo $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_OPT)
