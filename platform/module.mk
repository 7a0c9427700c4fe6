# platform/module.mk: the bindings; each target's libmirage.a holds the libraries and its binding.
COMMON_SRCS := $(sort $(wildcard platform/common/*.c))
# The socket stack uses host sockets: it goes into the unix library only.
UNIX_SRCS := $(sort $(wildcard platform/unix/*.c lib/net/socket/*.c))
SPT_SRCS := $(sort $(wildcard platform/spt/*.c platform/spt/*.S))
HVT_SRCS := $(sort $(wildcard platform/hvt/*.c platform/hvt/*.S))
VIRTIO_SRCS := $(sort $(wildcard platform/virtio/*.c platform/virtio/*.S))

UNIX_LIB := $(B)/unix/libmirage.a
SPT_LIB := $(B)/spt/libmirage.a
HVT_LIB := $(B)/hvt/libmirage.a
VIRTIO_LIB := $(B)/virtio/libmirage.a

$(eval $(call archive,$(UNIX_LIB),$(call objs,unix,$(LIB_SRCS) $(COMMON_SRCS) $(UNIX_SRCS))))
$(eval $(call archive,$(SPT_LIB),$(call objs,guest,$(LIB_SRCS) $(COMMON_SRCS) $(SPT_SRCS))))
$(eval $(call archive,$(HVT_LIB),$(call objs,guest,$(LIB_SRCS) $(COMMON_SRCS) $(HVT_SRCS))))
$(eval $(call archive,$(VIRTIO_LIB),$(call objs,guest,$(LIB_SRCS) $(COMMON_SRCS) $(VIRTIO_SRCS))))

ALL += $(UNIX_LIB) $(SPT_LIB) $(HVT_LIB) $(VIRTIO_LIB)
