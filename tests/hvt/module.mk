# tests/hvt/module.mk: hvt-only test unikernels (malformed hypercalls, platform probes), and the
# .hvt builds of the target-neutral ones that tests/e2e/hvt.bats runs.
$(eval $(call unikernel,badptr,tests/hvt/badptr.c))
$(eval $(call unikernel,hvtprobe,tests/hvt/probe.c))
$(eval $(call unikernel,badring,tests/hvt/badring.c))
ALL += $(B)/uk/badptr.hvt $(B)/uk/hvtprobe.hvt $(B)/uk/badring.hvt $(B)/uk/hello.hvt $(B)/uk/ping.hvt \
	$(B)/uk/fault.hvt $(B)/uk/blocktest.hvt $(B)/uk/netsend.hvt
