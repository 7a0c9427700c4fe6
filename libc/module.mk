# libc/module.mk: the freestanding C library linked into spt and hvt images.
LIBC_SRCS := $(sort $(wildcard libc/*.c libc/*.S))
LIBC := $(B)/guest/libc.a
$(eval $(call archive,$(LIBC),$(call objs,guest,$(LIBC_SRCS))))
ALL += $(LIBC)

# Host tests of the libc: its objects, built as for the guests (but PIE), with
# every symbol renamed mlibc_NAME so they link beside glibc; the tests call
# mlibc_snprintf etc. and provide the platform as mlibc_mirage_*.
LIBC_TEST_CFLAGS := $(filter-out -fno-pie,$(GUEST_CFLAGS)) -fPIE
LIBC_PREFIXED := $(B)/libctest/libc_prefixed.o

$(B)/libctest/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(LIBC_TEST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/libctest/%.o: %.S
	@mkdir -p $(@D)
	$(Q)$(CC) $(LIBC_TEST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBC_PREFIXED): $(call objs,libctest,$(LIBC_SRCS))
	$(Q)ld -r -o $@.tmp $^
	$(Q)objcopy --prefix-symbols=mlibc_ $@.tmp
	$(Q)objcopy --redefine-sym mlibc__GLOBAL_OFFSET_TABLE_=_GLOBAL_OFFSET_TABLE_ $@.tmp $@
	$(Q)rm -f $@.tmp

# These override the generic unit-test and fuzz link rules of tests/module.mk.
$(B)/tests/test_libc: $(B)/asan/tests/unit/test_libc.o $(LIBC_PREFIXED)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_FLAGS) -o $@ $^

$(B)/fuzz/fuzz_libc: $(B)/fuzz/tests/fuzz/fuzz_libc.o $(LIBC_PREFIXED)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_LDFLAGS) -o $@ $^
