# tests/hvt/module.mk: hvt-only test unikernels (malformed hypercalls, platform probes).
$(eval $(call unikernel,badptr,tests/hvt/badptr.c))
$(eval $(call unikernel,hvtprobe,tests/hvt/probe.c))
HVT_TEST_UKS := $(B)/uk/badptr.hvt $(B)/uk/hvtprobe.hvt
ALL += $(HVT_TEST_UKS)
