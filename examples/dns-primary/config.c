/* config.c: dns-primary's configuration: a TCP/IP stack, the zone files crunched from zones/ and a
 * kv_rw_disk store on the block device "dns_data" for the zones as updates change them. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    /* Every zones/NAME.zone is the zone NAME (RFC 1035 master format; $INCLUDE reads other
     * files of zones/); zones/keys holds the TSIG keys, hmac-sha256:NAME:SECRET a line. */
    struct mirage_dev *zones = crunch("zones");

    runtime_key_int("port", "The UDP and TCP port to answer on.", "53", 1, 65535);
    runtime_key_int("tcp-idle-timeout",
                    "Seconds a TCP connection may wait for its next query before it is closed.",
                    "10", 1, 3600);
    runtime_key_int("max-conns",
                    "TCP connections open at once (an idle one holds its fiber's 16 KiB stack "
                    "and ~0.6 KiB; one being answered 80 KiB more); more are reset.",
                    "64", 1, 100000);
    runtime_key("notify", "string",
                "The secondaries to send NOTIFY to when a zone changes: IPV4[:PORT] or "
                "[IPV6][:PORT], separated by commas.",
                "");
    runtime_key_int("history", "Changes of each zone kept for IXFR (0: IXFR sends the whole zone).",
                    "16", 0, 32);
    struct mirage_dev *data = kv_rw_disk(block("dns_data"));
    register_unikernel("dns-primary", job("start", STACKV4V6, KV_RO, KV_RW), stack, zones, data);
}
