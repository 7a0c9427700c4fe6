# tests/kv/module.mk: the kv_rw_disk crash test: the crashkv unikernel and the crashrun host harness.
$(eval $(call unikernel,crashkv,tests/kv/crashkv.c))
CRASHRUN_SRCS := tests/kv/crashrun.c lib/kv/disk.c lib/runtime/crc32c.c lib/runtime/error.c lib/runtime/grow.c
$(B)/tests/crashrun: $(call objs,host,$(CRASHRUN_SRCS))
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lbearssl
ALL += $(B)/uk/crashkv $(B)/uk/crashkv.spt $(B)/uk/crashkv.hvt $(B)/tests/crashrun
