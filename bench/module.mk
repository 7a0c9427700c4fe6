# bench/module.mk: unikernels the benchmarks boot (bench/*.sh run them beside their references).
$(eval $(call unikernel,blockread,bench/blockread/blockread.c))
# The runtime benchmark (bench/runtime.sh) and its host reference.
$(eval $(call unikernel,rtbench,bench/runtime/rtbench.c))
$(B)/bench/rt_ref: $(B)/host/bench/runtime/rt_ref.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^
ALL += $(B)/uk/blockread $(B)/uk/blockread.spt $(B)/uk/blockread.hvt
# kv_rw_disk beside SQLite (bench/kvdisk.sh): the store's own code over a host file.
KVBENCH_SRCS := bench/kvdisk/kvbench.c lib/kv/disk.c lib/runtime/crc32c.c lib/runtime/error.c lib/runtime/grow.c
$(B)/bench/kvbench: $(call objs,host,$(KVBENCH_SRCS))
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lbearssl -lsqlite3
ALL += $(B)/bench/kvbench
# The same store inside unikernels on unix, spt and hvt (bench/kvdisk.sh boots them).
$(eval $(call unikernel,kvbench_uk,bench/kvdisk/kvbench_uk.c))
ALL += $(B)/uk/kvbench_uk $(B)/uk/kvbench_uk.spt $(B)/uk/kvbench_uk.hvt
# block.h throughput and tar_kv_ro get inside unikernels (bench/storage.sh).
$(eval $(call unikernel,blockbench,bench/blockbench/blockbench.c))
ALL += $(B)/uk/blockbench $(B)/uk/blockbench.spt $(B)/uk/blockbench.hvt
