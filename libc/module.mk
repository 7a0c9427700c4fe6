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

# The fuzz flavour is built by clang with coverage and sanitizers, so the
# fuzzer sees the libc's branches; the compiler's runtime hooks keep their names.
LIBC_FUZZ_CFLAGS := $(filter-out -fno-pie -fstack-protector-strong,$(GUEST_CFLAGS)) -fPIE \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
LIBC_FUZZ_PREFIXED := $(B)/libcfuzz/libc_prefixed.o

$(B)/libcfuzz/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(LIBC_FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/libcfuzz/%.o: %.S
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(LIBC_FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

# Links the objects into one, prefixes every symbol, then gives back their own
# names to what the libc leaves undefined except the platform (mirage_*):
# that is what the compiler's code refers to (GOT, sanitizer and coverage hooks).
define prefix_libc
	$(Q)ld -r -o $@.tmp $^
	$(Q)objcopy --prefix-symbols=mlibc_ $@.tmp
	$(Q)nm -u $@.tmp | awk '$$2 ~ /^mlibc_/ && $$2 !~ /^mlibc_mirage_/ \
		{ print $$2, substr($$2, 7) }' > $@.syms
	$(Q)objcopy --redefine-syms=$@.syms $@.tmp $@
	$(Q)rm -f $@.tmp $@.syms
endef

$(LIBC_PREFIXED): $(call objs,libctest,$(LIBC_SRCS))
	$(prefix_libc)

$(LIBC_FUZZ_PREFIXED): $(call objs,libcfuzz,$(LIBC_SRCS))
	$(prefix_libc)

# These override the generic unit-test and fuzz link rules of tests/module.mk.
$(B)/tests/test_libc: $(B)/asan/tests/unit/test_libc.o $(LIBC_PREFIXED)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_FLAGS) -o $@ $^

$(B)/fuzz/fuzz_libc: $(B)/fuzz/tests/fuzz/fuzz_libc.o $(LIBC_FUZZ_PREFIXED)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_LDFLAGS) -o $@ $^
