# tests/module.mk: unit tests (ASan+UBSan), fuzz targets (libFuzzer); tests/run.sh runs them.
# tests/unit/test_NAME.c -> $(B)/tests/test_NAME, linked with every portable source.
# tests/fuzz/fuzz_NAME.c -> $(B)/fuzz/fuzz_NAME, likewise with clang's libFuzzer.
# tests/net/link.c: the in-process test link of the network stack's tests.
# tests/flow/pair.c: in-memory flows (a connected pair, a buffer as a peer) for flow tests.
PORTABLE_SRCS := $(LIB_SRCS) $(TENDER_COMMON_SRCS) platform/virtio/virtq.c tests/net/link.c \
	tests/flow/pair.c
UNIT_LIB := $(B)/asan/libunit.a
FUZZ_LIB := $(B)/fuzz/libfuzz.a
$(eval $(call archive,$(UNIT_LIB),$(call objs,asan,$(PORTABLE_SRCS))))
$(eval $(call archive,$(FUZZ_LIB),$(call objs,fuzz,$(PORTABLE_SRCS))))

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(B)/tests/%: $(B)/asan/tests/unit/%.o $(UNIT_LIB)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_FLAGS) -o $@ $^ $(UNIT_LDADD) -lbearssl

$(B)/fuzz/%: $(B)/fuzz/tests/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_LDFLAGS) -o $@ $^ -lbearssl

ALL += $(UNIT_TESTS) $(FUZZERS)
