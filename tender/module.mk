# tender/module.mk: the host monitors mirage-spt and mirage-hvt and their common parts.
TENDER_COMMON_SRCS := $(sort $(wildcard tender/common/*.c))
TENDER_COMMON := $(B)/host/libtender.a
$(eval $(call archive,$(TENDER_COMMON),$(call objs,host,$(TENDER_COMMON_SRCS) $(KEY_PARSE_SRCS))))

# mirage-spt is static (no dynamic loader: most of a tender's start-up time)
# and position-independent (the guest owns the low addresses from 1 MiB);
# mirage-hvt likewise, for its start-up time.
$(B)/bin/mirage-spt: $(call objs,host,$(sort $(wildcard tender/spt/*.c))) $(TENDER_COMMON)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -static-pie -o $@ $^

$(B)/bin/mirage-hvt: $(call objs,host,$(sort $(wildcard tender/hvt/*.c))) $(TENDER_COMMON)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -static-pie -o $@ $^ -lseccomp -lpthread

ALL += $(B)/bin/mirage-spt $(B)/bin/mirage-hvt
