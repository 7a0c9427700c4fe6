/* config.c: static_website's configuration: a TCP/IP stack, the site's files and its TLS
 * certificate as read-only stores. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    struct mirage_dev *htdocs = crunch("htdocs");
    /* default/cert.pem (the chain, leaf first) and default/key.pem (more HOST/ directories:
     * certificates chosen by SNI): made at build time by a local CA (mk/democert.sh),
     * linked here as tls/. */
    struct mirage_dev *certs = crunch("tls");
    struct mirage_dev *main_job = job("start", STACKV4V6, KV_RO, KV_RO);

    /* Heap accounting for --stats differs: the freestanding libc's on spt/hvt, glibc's on unix. */
    job_sources(main_job, "unikernel.c", target_is_unix() ? "heap_unix.c" : "heap_guest.c");
    runtime_key_int("stats", "Log connections, workers and heap every N seconds (0: never).", "0",
                    0, 3600);
    runtime_key_int("http-port", "The TCP port to serve HTTP on.", "80", 1, 65535);
    runtime_key_int("https-port", "The TCP port to serve HTTPS on (with --tls=true).", "443", 1,
                    65535);
    runtime_key("tls", "bool", "Serve HTTPS too, with the certificate of the tls store.", "false");
    runtime_key("https-redirect", "bool",
                "Answer every HTTP request with a redirect to HTTPS (with --tls=true).", "false");
    runtime_key("hostname", "string", "The site's host name, for redirects to HTTPS.", "localhost");
    runtime_key("fallback", "string",
                "A key served (with 404) for missing ones, e.g. /404.html; empty: a short text.",
                "");
    runtime_key_int("workers", "Requests served at once, at most (each a fiber).", "32", 1, 4096);
    runtime_key_int("idle-timeout", "Seconds an idle keep-alive connection is kept.", "60", 1,
                    86400);
    register_unikernel("static_website", main_job, stack, htdocs, certs);
}
