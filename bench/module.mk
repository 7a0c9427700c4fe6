# bench/module.mk: unikernels the benchmarks boot (bench/*.sh run them beside their references).
$(eval $(call unikernel,blockread,bench/blockread/blockread.c))
# The runtime benchmark (bench/runtime.sh) and its host reference.
$(eval $(call unikernel,rtbench,bench/runtime/rtbench.c))
$(B)/bench/rt_ref: $(B)/host/bench/runtime/rt_ref.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^
ALL += $(B)/uk/blockread $(B)/uk/blockread.spt $(B)/uk/blockread.hvt
