# tool/module.mk: the mirage command and the configuration library every config.c links with.
CONFIG_SRCS := $(sort $(wildcard tool/config/*.c))
CONFIG_LIB := $(B)/host/libmirage-config.a
$(eval $(call archive,$(CONFIG_LIB),$(call objs,host,$(CONFIG_SRCS) $(KEY_PARSE_SRCS))))

# The tool finds the libraries it links unikernels with here (MIRAGE_ROOT overrides it).
# The stamp holds that directory and changes only with it, so a checkout moved or copied
# with its build/ rebuilds the tool instead of pointing at the old place.
TOOL_ROOT_STAMP := $(B)/host/tool/root
$(shell mkdir -p $(B)/host/tool && { [ "$$(cat $(TOOL_ROOT_STAMP) 2>/dev/null)" = "$(CURDIR)" ] || echo "$(CURDIR)" >$(TOOL_ROOT_STAMP); })
$(B)/host/tool/mirage.o: HOST_CFLAGS += -DMIRAGE_ROOT='"$(CURDIR)"'
$(B)/host/tool/mirage.o: $(TOOL_ROOT_STAMP)

TOOL_SRCS := tool/mirage.c tool/state.c tool/crunch.c lib/kv/kv.c lib/runtime/error.c lib/runtime/grow.c

$(B)/bin/mirage: $(call objs,host,$(TOOL_SRCS)) | $(CONFIG_LIB)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o,$^)

# Unit tests of the library link its objects but not its main().
$(B)/tests/test_config: $(call objs,asan,$(filter-out tool/config/main.c,$(CONFIG_SRCS)))
$(B)/tests/test_config: UNIT_LDADD = $(UNIT_LIB) # again: the library's objects use key_parse.c
$(B)/tests/test_mirage_state: $(call objs,asan,tool/state.c)
$(B)/fuzz/fuzz_mirage_state: $(call objs,fuzz,tool/state.c)

ALL += $(CONFIG_LIB) $(B)/bin/mirage

# mirage-kv: kv_rw_disk images on the host, with the store code the unikernels link.
KV_TOOL_SRCS := tool/kv/mirage-kv.c lib/kv/disk.c lib/runtime/crc32c.c lib/runtime/error.c lib/runtime/grow.c
$(B)/bin/mirage-kv: $(call objs,host,$(KV_TOOL_SRCS))
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lbearssl
ALL += $(B)/bin/mirage-kv
