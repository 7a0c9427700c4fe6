# tests/spt/module.mk: test unikernels for the tenders: faults, blocks, net, entropy (any target), the
# filter (spt).
$(eval $(call unikernel,fault,tests/faults/fault.c))
$(eval $(call unikernel,blocktest,tests/block/blocktest.c))
$(eval $(call unikernel,netsend,tests/net/netsend.c))
$(eval $(call unikernel,sptfilter,tests/spt/filter.c))
$(eval $(call unikernel,sptfilternet,tests/spt/filter_net.c))
$(eval $(call unikernel,entropy,tests/runtime/entropy.c))
ALL += $(B)/uk/fault $(B)/uk/fault.spt $(B)/uk/blocktest.spt $(B)/uk/netsend.spt $(B)/uk/sptfilter.spt \
	$(B)/uk/sptfilternet.spt \
	$(B)/uk/entropy $(B)/uk/entropy.spt $(B)/uk/entropy.hvt
