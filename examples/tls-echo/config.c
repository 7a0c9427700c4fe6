/* config.c: tls-echo's configuration: a TCP/IP stack, and the certificates as boot keys. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    struct mirage_dev *main_job = job("start", STACKV4V6);

    runtime_key_int("port", "The TCP port: the server listens on it, the client connects to it.",
                    "4433", 1, 65535);
    runtime_key("certs", "list",
                "The server's certificates: HOST:CHAIN:KEY,... with CHAIN the base64 DER "
                "certificates joined by '~' (leaf first) and KEY the base64 DER private key; "
                "HOST 'default' serves clients that send no or an unknown name.",
                NULL);
    runtime_key_int("out-buf", "Bytes of each connection's TLS output buffer (0: 16 KiB records).",
                    "0", 0, 16469);
    runtime_key("cbc", "bool", "Also offer the CBC suites.", "false");
    runtime_key_int("connections", "Exit after this many connections (0: never).", "0", 0, 1000000);
    /* The client: connects instead of serving when --connect is given. */
    runtime_key("connect", "ipv4", "Be a client: the server's address.", NULL);
    runtime_key("sni", "string", "The client: the host name to ask for and check.", "localhost");
    runtime_key("ca", "list", "The client: base64 DER CA certificates to trust.", NULL);
    runtime_key("pin", "string", "The client: a base64 DER certificate whose key to trust.", NULL);
    runtime_key("message", "string", "The client: what to send (a newline is added).", "hello");
    runtime_key_int("repeat", "The client: how many connections, one after the other.", "1", 1,
                    100);
    register_unikernel("tls-echo", main_job, stack);
}
