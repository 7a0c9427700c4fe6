# examples/module.mk: the example unikernels, each built for unix, spt and hvt.
$(eval $(call unikernel,hello,examples/hello/hello.c))
ALL += $(B)/uk/hello
