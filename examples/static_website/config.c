/* config.c: static_website's configuration: a TCP/IP stack and the site's files as a read-only store. */
#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    struct mirage_dev *htdocs = crunch("htdocs");
    struct mirage_dev *main_job = job("start", STACKV4V6, KV_RO);

    runtime_key_int("http-port", "The TCP port to serve HTTP on.", "80", 1, 65535);
    runtime_key("hostname", "string",
                "The site's host name, for redirects when a client sends no Host.", "localhost");
    runtime_key("fallback", "string",
                "A key served (with 404) for missing ones, e.g. /404.html; empty: a short text.",
                "");
    runtime_key_int("workers", "Requests served at once, at most (each a fiber).", "32", 1, 4096);
    runtime_key_int("idle-timeout", "Seconds an idle keep-alive connection is kept.", "60", 1,
                    86400);
    register_unikernel("static_website", main_job, stack, htdocs);
}
