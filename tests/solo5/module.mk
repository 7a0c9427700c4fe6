# tests/solo5/module.mk: programs written against solo5.h only, to test the Solo5 shim.
$(eval $(call solo5_unikernel,solo5_hello,tests/solo5/hello.c tests/solo5/hello_manifest.c))
$(eval $(call solo5_unikernel,solo5_blk,tests/solo5/blk.c tests/solo5/blk_manifest.c))
$(eval $(call solo5_unikernel,solo5_net,tests/solo5/net.c tests/solo5/net_manifest.c))
$(eval $(call solo5_unikernel,solo5_net2,tests/solo5/net.c tests/solo5/net2_manifest.c))
$(eval $(call solo5_unikernel,solo5_faults,tests/solo5/faults.c tests/solo5/hello_manifest.c))
$(eval $(call solo5_unikernel,solo5_tls,tests/solo5/tls.c tests/solo5/hello_manifest.c))
$(eval $(call solo5_unikernel,solo5_ownlibc,tests/solo5/ownlibc.c tests/solo5/hello_manifest.c))
SOLO5_TESTS := solo5_hello solo5_blk solo5_net solo5_net2 solo5_faults solo5_tls solo5_ownlibc
ALL += $(foreach t,$(SOLO5_TESTS),$(B)/uk/$(t) $(B)/uk/$(t).spt $(B)/uk/$(t).hvt)
