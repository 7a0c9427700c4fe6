# libc/module.mk: the freestanding C library linked into spt and hvt images.
LIBC_SRCS := $(sort $(wildcard libc/*.c libc/*.S))
LIBC := $(B)/guest/libc.a
$(eval $(call archive,$(LIBC),$(call objs,guest,$(LIBC_SRCS))))
ALL += $(LIBC)
