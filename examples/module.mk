# examples/module.mk: the example unikernels, each built for unix, spt and hvt.
$(eval $(call unikernel,hello,examples/hello/hello.c examples/hello/standalone.c))
ALL += $(B)/uk/hello
$(eval $(call unikernel,ping,examples/ping/ping.c examples/ping/one.c))
$(eval $(call unikernel,ping2,examples/ping/ping.c examples/ping/two.c))
ALL += $(foreach e,ping ping2,$(B)/uk/$(e) $(B)/uk/$(e).spt $(B)/uk/$(e).hvt)
# The runtime's tutorial examples (lib/runtime), built and tested on all three targets.
RUNTIME_EXAMPLES := noop hello-log hello-key heads timeout clock keys
$(eval $(call unikernel,noop,examples/noop/noop.c))
$(eval $(call unikernel,hello-log,examples/hello-log/hello_log.c))
$(eval $(call unikernel,hello-key,examples/hello-key/hello_key.c))
$(eval $(call unikernel,heads,examples/heads/heads.c))
$(eval $(call unikernel,timeout,examples/timeout/timeout.c))
$(eval $(call unikernel,clock,examples/clock/clock.c))
$(eval $(call unikernel,keys,examples/keys/keys.c))
ALL += $(foreach e,$(RUNTIME_EXAMPLES),$(B)/uk/$(e) $(B)/uk/$(e).spt $(B)/uk/$(e).hvt)
