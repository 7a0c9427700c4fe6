/* config.c: static_website's configuration: a TCP/IP stack, the site's files and its TLS
 * certificates, from tar images on block devices or compiled into the image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mirage/config.h>

void mirage_config(void)
{
    struct mirage_dev *stack = generic_stackv4v6(default_network());
    const char *store = configure_key(
        "store",
        "Where the site and its certificates come from: tar (GNU tar images on the block "
        "devices htdocs and tls: --block:htdocs=PATH --block:tls=PATH) or crunch (the "
        "directories htdocs/ and tls/ compiled into the image).",
        "tar");
    struct mirage_dev *htdocs, *certs, *main_job;
    const char *heap = target_is_unix() ? "heap_unix.c" : "heap_guest.c";
    const char *reload = target_is_unix() ? "reload_unix.c" : "reload_guest.c";

    /* The certificates: default/cert.pem (the chain, leaf first) and default/key.pem, and
     * more HOST/ directories for certificates chosen by SNI; the build makes them with a
     * local CA (mk/democert.sh). */
    if (strcmp(store, "crunch") == 0) {
        htdocs = crunch("htdocs");
        certs = crunch("tls");
        main_job = job("start", STACKV4V6, KV_RO, KV_RO);
        job_sources(main_job, "unikernel.c", "start_crunch.c", heap, reload);
    } else if (strcmp(store, "tar") == 0) {
        /* The certificates' device is read again when they are reloaded (unikernel.c). */
        htdocs = tar_kv_ro(block("htdocs"));
        certs = block("tls");
        main_job = job("start", STACKV4V6, KV_RO, BLOCK);
        job_sources(main_job, "unikernel.c", "start_tar.c", heap, reload);
    } else {
        fprintf(stderr, "static_website: --store=%s: tar or crunch\n", store);
        exit(1);
    }
    runtime_key_int("stats", "Log connections, workers and heap every N seconds (0: never).", "0",
                    0, 3600);
    runtime_key_int("http-port", "The TCP port to serve HTTP on.", "80", 1, 65535);
    runtime_key_int("https-port", "The TCP port to serve HTTPS on (with --tls=true).", "443", 1,
                    65535);
    runtime_key("tls", "bool", "Serve HTTPS too, with the certificates of the tls store.", "false");
    runtime_key("https-redirect", "bool",
                "Answer every HTTP request with a redirect to HTTPS (with --tls=true).", "false");
    runtime_key("hostname", "string", "The site's host name, for redirects to HTTPS.", "localhost");
    runtime_key("fallback", "string",
                "A key served (with 404) for missing ones, e.g. /404.html; empty: a short text.",
                "");
    runtime_key_int("workers", "Requests served at once, at most (each a fiber).", "32", 1, 4096);
    runtime_key_int("idle-timeout", "Seconds an idle keep-alive connection is kept.", "60", 1,
                    86400);
    runtime_key_int("reload-check",
                    "With --store=tar: every N seconds, the certificates are "
                    "read again from the tls device when its bytes changed (0: never; on unix "
                    "SIGHUP reloads them at once).",
                    "5", 0, 86400);
    register_unikernel("static_website", main_job, stack, htdocs, certs);
}
