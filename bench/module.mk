# bench/module.mk: unikernels the benchmarks boot (bench/*.sh run them beside their references).
$(eval $(call unikernel,blockread,bench/blockread/blockread.c))
