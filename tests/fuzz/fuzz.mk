# tests/fuzz/fuzz.mk — libFuzzer targets for the pure code (tests/fuzz/*_fuzz.cpp). The Makefile
# includes it; it can also be used on its own: make -f Makefile -f tests/fuzz/fuzz.mk fuzz
#
#   make fuzz         build every target into build/fuzz/ and fuzz each for FUZZ_SECONDS (10),
#                     FUZZ_JOBS (nproc) at a time, from a scratch copy of its seed corpus
#   make fuzz-smoke   replay the committed corpora (-runs=0), then fuzz each for
#                     FUZZ_SMOKE_SECONDS (5): what `make test` runs
#   make fuzz-long    replay, then fuzz each for FUZZ_LONG_SECONDS (600): the run to do after
#                     changing a parser. A finding is fixed, then its input is copied into
#                     tests/fuzz/corpus/<target>/ so every later `make test` replays it.
#   make fuzz-build   only build
#
# Crashes are saved as build/fuzz/artifacts/<target>-crash-<sha1>; reproduce one with
# build/fuzz/<target> <file>. Logs are in build/fuzz/logs/. Nothing is written under tests/.
# Needs clang with the libFuzzer runtime (Debian: clang and libclang-rt-14-dev).

ifndef FUZZ_MK_INCLUDED
FUZZ_MK_INCLUDED := 1

BUILD              ?= build
FUZZCXX            ?= clang++
FUZZ_SECONDS       ?= 10
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_LONG_SECONDS  ?= 600
FUZZ_JOBS          ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_DIR           := tests/fuzz
FUZZ_BUILD         := $(BUILD)/fuzz
FUZZ_SANITIZE      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_FLAGS         := -std=c++20 -O1 -g -Wall -Wextra -iquote . $(FUZZ_SANITIZE)

# Each target: the pure sources it links, and the longest input the fuzzer makes up (-max_len).
FUZZ_TARGETS := request_parser_fuzz path_fuzz range_fuzz date_fuzz chunked_fuzz frame_fuzz utf8_fuzz decoder_fuzz \
                address_fuzz
request_parser_fuzz_SRCS := http/request_parser.cpp http/body.cpp http/path.cpp
request_parser_fuzz_MAXLEN := 4096
path_fuzz_SRCS := http/path.cpp
path_fuzz_MAXLEN := 2048
range_fuzz_SRCS := http/conditional.cpp http/request_parser.cpp runtime/civil_time.cpp
range_fuzz_MAXLEN := 1024
date_fuzz_SRCS := runtime/civil_time.cpp
date_fuzz_MAXLEN := 64
chunked_fuzz_SRCS := http/body.cpp http/request_parser.cpp http/path.cpp
chunked_fuzz_MAXLEN := 4096
frame_fuzz_SRCS := websocket/frame.cpp
frame_fuzz_MAXLEN := 512
utf8_fuzz_SRCS := websocket/utf8.cpp
utf8_fuzz_MAXLEN := 1024
decoder_fuzz_SRCS := websocket/decoder.cpp websocket/frame.cpp websocket/utf8.cpp
decoder_fuzz_MAXLEN := 4096
address_fuzz_SRCS := net/address.cpp
address_fuzz_MAXLEN := 64

FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
FUZZ_OBJS := $(sort $(foreach t,$(FUZZ_TARGETS),$(FUZZ_DIR)/$(t).cpp $($(t)_SRCS)))
FUZZ_OBJS := $(FUZZ_OBJS:%.cpp=$(FUZZ_BUILD)/obj/%.o)

# Objects get coverage instrumentation only; -fsanitize=fuzzer at link adds libFuzzer's main.
$(FUZZ_OBJS): $(FUZZ_BUILD)/obj/%.o: %.cpp $(FUZZ_DIR)/fuzz.mk
	@mkdir -p $(dir $@)
	$(FUZZCXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

define FUZZ_LINK_RULE
$(FUZZ_BUILD)/$(1): $(FUZZ_BUILD)/obj/$(FUZZ_DIR)/$(1).o $($(1)_SRCS:%.cpp=$(FUZZ_BUILD)/obj/%.o)
	$$(FUZZCXX) $$(FUZZ_FLAGS) -fsanitize=fuzzer $$^ -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK_RULE,$(t))))

# "target:max_len" pairs for the runner.
FUZZ_RUN_LIST = $(foreach t,$(FUZZ_TARGETS),$(t):$($(t)_MAXLEN))

.PHONY: fuzz fuzz-smoke fuzz-long fuzz-build

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@$(FUZZ_DIR)/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_BUILD) $(FUZZ_RUN_LIST)

fuzz-smoke: $(FUZZ_BINS)
	@$(FUZZ_DIR)/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_JOBS) $(FUZZ_BUILD) $(FUZZ_RUN_LIST)

fuzz-long: $(FUZZ_BINS)
	@$(FUZZ_DIR)/run.sh smoke $(FUZZ_LONG_SECONDS) $(FUZZ_JOBS) $(FUZZ_BUILD) $(FUZZ_RUN_LIST)

-include $(FUZZ_OBJS:.o=.d)

endif
