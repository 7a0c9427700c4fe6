# tests/net/module.mk: host tools and unikernels of the TCP end-to-end tests and bench/net.sh.
# tests/net/bridge.c: a lossy userspace Ethernet bridge between two taps (seeded drop,
# reorder, duplicate). tests/net/tcpclient.c: the host's side (streams, churn, concurrent
# connections, request/response, throughput). tests/net/rawpeer.c: a hostile peer with a
# packet socket on a tap (oversized and tagged frames, ARP floods, odd SYNs; hostile.bats).
# tests/tcp: the tcptest unikernel, built by the mirage tool like an example (direct stack
# on unix too).
NET_TOOLS := $(B)/bin/netbridge $(B)/bin/tcpclient $(B)/bin/rawpeer

$(B)/bin/netbridge: $(B)/host/tests/net/bridge.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

$(B)/bin/tcpclient: $(B)/host/tests/net/tcpclient.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lpthread

$(B)/bin/rawpeer: $(B)/host/tests/net/rawpeer.o $(B)/host/lib/wire/checksum.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

ALL += $(NET_TOOLS)
$(call example,tcptest,tests/tcp,--net=direct)
$(call example,diskbusy,tests/block/diskbusy,--net=direct)
