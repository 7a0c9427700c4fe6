# platform/solo5/module.mk: the Solo5 interface shim, an archive only Solo5 programs link with.
SOLO5_SRCS := platform/solo5/solo5.c
SOLO5_UNIX_LIB := $(B)/unix/libsolo5.a
SOLO5_GUEST_LIB := $(B)/guest/libsolo5.a
$(eval $(call archive,$(SOLO5_UNIX_LIB),$(call objs,unix,$(SOLO5_SRCS))))
$(eval $(call archive,$(SOLO5_GUEST_LIB),$(call objs,guest,$(SOLO5_SRCS))))

# $(call solo5_unikernel,NAME,SOURCES): like `unikernel`, for a program written
# against solo5.h (its SOURCES define solo5_app_main and a MIRAGE_MANIFEST).
define solo5_unikernel
$(B)/uk/$(1): $(call objs,unix,$(2)) $(SOLO5_UNIX_LIB) $(UNIX_LIB)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) -o $$@ $$^ $$(UNIX_LDLIBS)
$(B)/uk/$(1).spt: $(call objs,guest,$(2)) $(SOLO5_GUEST_LIB) $(SPT_LIB) $(LIBC) platform/spt/spt.ld
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(GUEST_LDFLAGS) -T platform/spt/spt.ld -o $$@ $(call objs,guest,$(2)) \
		-Wl,--start-group $(SOLO5_GUEST_LIB) $(SPT_LIB) $(LIBC) $(LIBGCC) -Wl,--end-group
$(B)/uk/$(1).hvt: $(call objs,guest,$(2)) $(SOLO5_GUEST_LIB) $(HVT_LIB) $(LIBC) platform/hvt/hvt.ld
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(GUEST_LDFLAGS) -T platform/hvt/hvt.ld -o $$@ $(call objs,guest,$(2)) \
		-Wl,--start-group $(SOLO5_GUEST_LIB) $(HVT_LIB) $(LIBC) $(LIBGCC) -Wl,--end-group
UNIKERNELS += $(B)/uk/$(1) $(B)/uk/$(1).spt $(B)/uk/$(1).hvt
endef

ALL += $(SOLO5_UNIX_LIB) $(SOLO5_GUEST_LIB)

# The programs that test the shim, written against solo5.h only.
include tests/solo5/module.mk
