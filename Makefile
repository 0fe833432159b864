# Build rules; ./build.sh is the entry point people use.
#   make BUILD=asan      test build: ASan + UBSan (default)
#   make BUILD=release   optimized, hardened
#   make BUILD=debug     -O1 -g without sanitizers (for valgrind)
# Outputs go to build/$(BUILD)/.

BUILD ?= asan
OUT   := build/$(BUILD)
CC    ?= cc

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wwrite-strings -Wformat=2 -Wpointer-arith \
        -Wcast-align -Wvla -Wno-missing-field-initializers

ifeq ($(BUILD),release)
MODE := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
else ifeq ($(BUILD),debug)
MODE := -O1 -g -fno-omit-frame-pointer
else ifeq ($(BUILD),asan)
MODE := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
        -fno-sanitize-recover=all
else
$(error BUILD must be asan, release or debug)
endif

# -iquote, not -I: only our own "..." includes look in common/.
# that OpenSSL (via libwebsockets.h) includes.
CPPFLAGS += -D_GNU_SOURCE -iquote common
CFLAGS   += $(WARN) $(MODE) -MMD -MP
LDFLAGS  += $(filter -fsanitize=%,$(MODE)) -pthread

PC_FCGI := $(shell pkg-config --cflags --libs fcgi hiredis jansson)
PC_GW   := $(shell pkg-config --cflags --libs libwebsockets hiredis jansson)
PC_TEST := $(shell pkg-config --cflags --libs hiredis jansson)

COMMON_OBJ := $(patsubst %.c,$(OUT)/%.o,$(wildcard common/*.c))
FCGI_OBJ   := $(patsubst %.c,$(OUT)/%.o,$(wildcard fcgi/*.c)) \
              $(OUT)/gen/publish_lua.o $(OUT)/gen/ratelimit_lua.o \
              $(OUT)/gen/fence_lua.o
GW_OBJ     := $(patsubst %.c,$(OUT)/%.o,$(wildcard gateway/*.c)) \
              $(OUT)/gen/gw_presence_lua.o

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRC))
BENCH_SRC  := $(wildcard tests/bench/*.c)
BENCH_BIN  := $(patsubst tests/bench/%.c,$(OUT)/bench/%,$(BENCH_SRC))

.PHONY: all servers unit bench clean
all: servers unit bench
servers: $(OUT)/chat-send $(OUT)/chat-gateway
unit: $(UNIT_BIN)
bench: $(BENCH_BIN)

$(OUT)/chat-send: $(FCGI_OBJ) $(COMMON_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS) $(PC_FCGI)

$(OUT)/chat-gateway: $(GW_OBJ) $(COMMON_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS) $(PC_GW)

# fcgi/publish.lua is the single source of the atomic step (and
# fcgi/ratelimit.lua of the token bucket); each is compiled in as a string
# so the binary needs no file at run time.
$(OUT)/gen/%_lua.c: fcgi/%.lua tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh store_$*_lua $< > $@

# gateway/presence.lua likewise, for the gateway.
$(OUT)/gen/gw_%_lua.c: gateway/%.lua tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh gw_$*_lua $< > $@

$(OUT)/gen/%.o: $(OUT)/gen/%.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(OUT)/fcgi/%.o: fcgi/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags fcgi hiredis jansson) -c -o $@ $<

$(OUT)/gateway/%.o: gateway/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags libwebsockets hiredis jansson) -c -o $@ $<

$(OUT)/common/%.o: common/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags jansson hiredis) -c -o $@ $<

# A unit test test_X links the common objects plus the module X of fcgi/
# or gateway/ (or the file named in TEST_MODULE_X, where both programs have
# an X), and any extra objects named in TEST_DEPS_X.
TEST_DEPS_form :=
TEST_DEPS_fanout := $(OUT)/gateway/frame.o
TEST_DEPS_gw_config := $(OUT)/gateway/clientaddr.o
TEST_MODULE_gw_config := gateway/config.c
TEST_MODULE_send_config := fcgi/config.c
TEST_MODULE_send_metrics := fcgi/metrics.c
test_module = $(or $(TEST_MODULE_$(1)),$(wildcard fcgi/$(1).c gateway/$(1).c))

define unit_rule
$(OUT)/tests/$(1): tests/unit/$(1).c $(COMMON_OBJ) \
    $(patsubst %.c,$(OUT)/%.o,$(call test_module,$(2))) \
    $(TEST_DEPS_$(2))
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $(addprefix -I,$(dir $(call test_module,$(2)))) \
	    -o $$@ $$(filter %.c %.o,$$^) $$(LDFLAGS) $$(PC_TEST)
endef
$(foreach t,$(UNIT_SRC),$(eval $(call unit_rule,$(basename $(notdir $(t))),$(patsubst test_%,%,$(basename $(notdir $(t)))))))

$(OUT)/bench/%: tests/bench/%.c $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(PC_GW) $(shell pkg-config --libs libuv)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
