# platform/solo5/module.mk: the Solo5 interface shim, an archive only Solo5 programs link with.
SOLO5_SRCS := platform/solo5/solo5.c
SOLO5_UNIX_LIB := $(B)/unix/libsolo5.a
SOLO5_GUEST_LIB := $(B)/guest/libsolo5.a
$(eval $(call archive,$(SOLO5_UNIX_LIB),$(call objs,unix,$(SOLO5_SRCS))))
$(eval $(call archive,$(SOLO5_GUEST_LIB),$(call objs,guest,$(SOLO5_SRCS))))

# The bindings of a Solo5 program on spt and hvt, one object each, as Solo5
# ships them: the shim, the binding, the runtime and our libc linked together,
# then every symbol made local except the Solo5 API (solo5_*), the entry point
# and the stack protector's __stack_chk_fail. A program that brings its own
# memcpy, strlen, ... links beside ours, and our code keeps calling ours.
SOLO5_KEEP := $(B)/guest/solo5_keep.syms
SOLO5_SPT_OBJ := $(B)/guest/solo5_spt.o
SOLO5_HVT_OBJ := $(B)/guest/solo5_hvt.o

$(SOLO5_KEEP): platform/solo5/module.mk include/solo5.h
	@mkdir -p $(@D)
	$(Q){ sed -n 's/.*[ *]\(solo5_[a-z_]*\)(.*/\1/p' include/solo5.h | grep -v '^solo5_app_main$$'; \
		echo _start; echo __stack_chk_fail; } | sort -u >$@

# $(call solo5_bindings,OUT,TARGET_LIB)
define solo5_bindings
$(1): $(SOLO5_GUEST_LIB) $(2) $(LIBC) $(SOLO5_KEEP)
	@mkdir -p $$(@D)
	$$(Q)ld -r -o $$@.tmp -u _start --whole-archive $(SOLO5_GUEST_LIB) --no-whole-archive \
		--start-group $(2) $(LIBC) $(LIBGCC) --end-group
	$$(Q)objcopy --keep-global-symbols=$(SOLO5_KEEP) $$@.tmp $$@
	$$(Q)rm -f $$@.tmp
endef
$(eval $(call solo5_bindings,$(SOLO5_SPT_OBJ),$(SPT_LIB)))
$(eval $(call solo5_bindings,$(SOLO5_HVT_OBJ),$(HVT_LIB)))

# $(call solo5_unikernel,NAME,SOURCES): like `unikernel`, for a program written
# against solo5.h (its SOURCES define solo5_app_main and a MIRAGE_MANIFEST).
define solo5_unikernel
$(B)/uk/$(1): $(call objs,unix,$(2)) $(SOLO5_UNIX_LIB) $(UNIX_LIB)
	@mkdir -p $$(@D)
	$$(Q)$$(call link_unix,$$@,$$^)
$(B)/uk/$(1).spt: $(call objs,guest,$(2)) $(SOLO5_SPT_OBJ) platform/spt/spt.ld
	@mkdir -p $$(@D)
	$$(Q)$$(call link_guest,$$@,platform/spt/spt.ld,$(call objs,guest,$(2)) $(SOLO5_SPT_OBJ))
$(B)/uk/$(1).hvt: $(call objs,guest,$(2)) $(SOLO5_HVT_OBJ) platform/hvt/hvt.ld
	@mkdir -p $$(@D)
	$$(Q)$$(call link_guest,$$@,platform/hvt/hvt.ld,$(call objs,guest,$(2)) $(SOLO5_HVT_OBJ))
UNIKERNELS += $(B)/uk/$(1) $(B)/uk/$(1).spt $(B)/uk/$(1).hvt
endef

ALL += $(SOLO5_UNIX_LIB) $(SOLO5_GUEST_LIB) $(SOLO5_SPT_OBJ) $(SOLO5_HVT_OBJ)

# The programs that test the shim, written against solo5.h only.
include tests/solo5/module.mk
