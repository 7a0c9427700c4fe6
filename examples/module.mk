# examples/module.mk: the example unikernels, each built for unix, spt and hvt.
$(eval $(call unikernel,hello,examples/hello/hello.c examples/hello/standalone.c))
ALL += $(B)/uk/hello
$(eval $(call unikernel,ping,examples/ping/ping.c examples/ping/one.c))
$(eval $(call unikernel,ping2,examples/ping/ping.c examples/ping/two.c))
ALL += $(foreach e,ping ping2,$(B)/uk/$(e) $(B)/uk/$(e).spt $(B)/uk/$(e).hvt)
