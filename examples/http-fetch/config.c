/* config.c: http-fetch's configuration: a TCP/IP stack, the URL to fetch and the CA certificates
 * https:// URLs are checked against. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    /* Every file of ca/ (PEM, any number of certificates, or DER, one) is trusted for
     * https:// URLs: the build links the demo CA there (mk/democert.sh); put a bundle of your
     * own (e.g. /etc/ssl/certs/ca-certificates.crt) in its place. */
    struct mirage_dev *ca = crunch("ca");

    runtime_key("uri", "string", "The URL to fetch (http:// or https://HOST[:PORT]/PATH).",
                "http://10.0.0.1/");
    /* --dns-servers=IP[,IP...]: a HOST that is a name is asked of them (none: IP literals). */
    standard_key("dns-servers");
    runtime_key("servername", "string",
                "https://: the host name to ask for (SNI) and to find in the server's "
                "certificate (empty: the URL's host).",
                "");
    runtime_key("method", "string", "GET, HEAD or POST.", "GET");
    runtime_key("data", "string", "The body of a POST.", "");
    runtime_key_int("repeat", "Fetch this many times (over one kept-alive connection).", "1", 1,
                    1000);
    runtime_key("headers", "bool", "Print the response's status line and fields first.", "false");
    register_unikernel("http-fetch", job("start", STACKV4V6, KV_RO), stack, ca);
}
