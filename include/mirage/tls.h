/* tls.h: TLS as a flow wrapping a flow: servers and clients (TLS 1.2 over BearSSL today). */
#ifndef MIRAGE_TLS_H
#define MIRAGE_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/error.h"
#include "mirage/flow.h"

/*
 * A TLS flow is a struct mirage_flow: HTTP, DNS or an application read and
 * write it exactly as the TCP flow it wraps. The handshake runs on the first
 * read or write (or mirage_tls_handshake). Nothing here names the library
 * underneath: the implementation today is BearSSL, TLS 1.2 only, ECDHE key
 * exchange with RSA or ECDSA certificates and AEAD suites (AES-GCM,
 * ChaCha20-Poly1305); a TLS 1.3 implementation can replace it behind the
 * same calls.
 *
 * Errors, from any call on a TLS flow (the log source "tls" says more, e.g.
 * the alert's name):
 *   MIRAGE_EPROTO   the handshake failed or a record was bad: a fatal alert
 *                   from the peer or sent to it, no common suite or version,
 *                   a bad MAC, a stream cut without close_notify
 *   MIRAGE_EACCES   the client refused the server's certificate (untrusted,
 *                   expired, wrong host name, not the pinned key)
 *   and the wrapped flow's own errors (MIRAGE_ECONNRESET, MIRAGE_ETIMEDOUT...).
 * An error is sticky: every later read or write returns it. A write that
 * fails part-way (a deadline, a reset) leaves an unknown part of a record on
 * the wire, so it also breaks the flow. Reads and writes may come from two
 * fibers at once (one reading, one writing).
 */

/* Options shared by servers and clients; zero means the default. */
struct mirage_tls_opts {
    /* ALPN protocol names in preference order ("http/1.1"); n_alpn 0: no ALPN. */
    const char *const *alpn;
    size_t n_alpn;
    /* Bytes of the output record buffer per connection: 0 is the largest
     * (16 KiB records); down to 512 (smaller records: less memory, more
     * records). The input buffer is always 16.3 KiB, as a peer may send
     * records that big. */
    size_t out_buf;
    /* Server: bytes for the session cache (about 100 per session: 0 gives
     * 32 KiB, ~320 sessions, least recently used dropped first); client:
     * how many hosts' sessions to keep (0 gives 16). */
    size_t session_cache;
    /* Also offer the CBC suites with SHA-1/SHA-256 HMAC (off: AEAD only). */
    int allow_cbc;
};

/* ---- certificates --------------------------------------------------------- */

/* A set of certificate chains with their keys, chosen by the server from the
 * name the client asks for (SNI). Each entry is a host name ("example.org",
 * "*.example.org" for one label, or NULL: the default, served to clients
 * that send no name or an unknown one; without one, the first entry is). */
struct mirage_tls_certs; /* opaque */

/* A new, empty set. Returns NULL when out of memory. */
struct mirage_tls_certs *mirage_tls_certs_new(void);
void mirage_tls_certs_free(struct mirage_tls_certs *c);

/* Adds (host)'s chain (leaf first) and private key, each PEM (one or more
 * "CERTIFICATE" blocks; "RSA PRIVATE KEY", "EC PRIVATE KEY" or "PRIVATE KEY")
 * or DER (one certificate, one key). Copies what it needs. Returns 0,
 * MIRAGE_EINVAL (bad PEM or DER, no certificate, a key that is neither RSA
 * nor EC or does not match the leaf's key, a bad host name; a log line says
 * which) or MIRAGE_ENOMEM. */
int mirage_tls_certs_add(struct mirage_tls_certs *c, const char *host, const void *chain,
                         size_t chain_len, const void *key, size_t key_len);

/* How many chains (c) holds. */
size_t mirage_tls_certs_count(const struct mirage_tls_certs *c);

struct mirage_kv;

/*
 * Reads a set from a kv store (include/mirage/kv.h): every dictionary
 * PREFIX/HOST holding "cert.pem" (the chain, leaf first) and "key.pem" gives
 * an entry for HOST, HOST "default" the default; PEM or DER in either file;
 * other values under PREFIX are ignored. Returns 0 and *out, MIRAGE_ENOENT
 * (no such dictionary, nothing in it, a missing file), MIRAGE_EINVAL (a bad
 * entry), MIRAGE_ENOMEM or the store's error; a log line names the key.
 * Suspends the calling fiber while the store reads its device.
 */
int mirage_tls_certs_from_kv(struct mirage_kv *kv, const char *prefix,
                             struct mirage_tls_certs **out);

/* ---- servers -------------------------------------------------------------- */

struct mirage_tls_server; /* opaque: certificates, options, session cache */

/* A server configuration serving (certs), which it takes over (also on
 * failure). Returns 0 and *out, MIRAGE_EINVAL (no certificate, a bad
 * option) or MIRAGE_ENOMEM. */
int mirage_tls_server_new(const struct mirage_tls_opts *opts, struct mirage_tls_certs *certs,
                          struct mirage_tls_server **out);

/* Serves (certs) from now on (the server takes them over, also on failure):
 * handshakes already past their choice of certificate keep the old set,
 * which is freed when the last of them ends. No restart, no connection lost.
 * Returns 0 or MIRAGE_EINVAL (an empty set: the old one stays). */
int mirage_tls_server_set_certs(struct mirage_tls_server *s, struct mirage_tls_certs *certs);

/* Reads the certificates again from (kv) under (prefix) (as
 * mirage_tls_certs_from_kv) and serves them: the application calls it when it
 * wants (a signal, a request, a timer). On any error the old certificates
 * stay and the error is returned. Suspends the calling fiber while the
 * store reads. */
int mirage_tls_server_reload(struct mirage_tls_server *s, struct mirage_kv *kv, const char *prefix);

/* Frees (s); flows made from it must have been closed. */
void mirage_tls_server_free(struct mirage_tls_server *s);

/* Wraps (tcp), an accepted connection, as the server side of TLS. Returns 0
 * and *out, or MIRAGE_ENOMEM (tcp is then untouched). The TLS flow owns
 * (tcp) from then on: closing it closes tcp. Never waits. */
int mirage_tls_server_flow(struct mirage_tls_server *s, struct mirage_flow *tcp,
                           struct mirage_flow **out);

/* ---- clients -------------------------------------------------------------- */

struct mirage_tls_client; /* opaque: trust, options, sessions kept for resumption */

/*
 * A client configuration that trusts the CA certificates in (ca, ca_len) (PEM,
 * any number, or DER, one) and, if (pinned) is not NULL, also servers whose
 * leaf certificate carries the same public key as the certificate (pinned,
 * pinned_len) (PEM or DER) without a chain to a CA. Either way the server's
 * certificate must be valid now (the wall clock) and name the host given to
 * mirage_tls_client_flow. Returns 0 and *out, MIRAGE_EINVAL (nothing to
 * trust, bad PEM/DER) or MIRAGE_ENOMEM.
 */
int mirage_tls_client_new(const struct mirage_tls_opts *opts, const void *ca, size_t ca_len,
                          const void *pinned, size_t pinned_len, struct mirage_tls_client **out);
void mirage_tls_client_free(struct mirage_tls_client *c);

/* As mirage_tls_client_new, trusting the CA certificates of every value under
 * (prefix) in the kv store (kv) (each PEM, any number, or DER, one; e.g. a
 * system bundle). Returns 0 and *out, MIRAGE_ENOENT (no value there),
 * MIRAGE_EINVAL (a value that is no certificate: a log line names its key),
 * MIRAGE_ENOMEM or the store's error. Suspends the calling fiber while the
 * store reads. */
int mirage_tls_client_from_kv(const struct mirage_tls_opts *opts, struct mirage_kv *kv,
                              const char *prefix, struct mirage_tls_client **out);

/* Wraps (tcp), a connection to (host), as the client side of TLS: sends
 * (host) as SNI, checks it against the certificate, and resumes the last
 * session with (host) when it has one. Returns 0 and *out, MIRAGE_EINVAL (a
 * bad host name) or MIRAGE_ENOMEM (tcp untouched). The TLS flow owns (tcp). */
int mirage_tls_client_flow(struct mirage_tls_client *c, struct mirage_flow *tcp, const char *host,
                           struct mirage_flow **out);

/* ---- either side ---------------------------------------------------------- */

/* Runs the handshake to its end (a no-op once done). Returns 0 or an error
 * as above; suspends the calling fiber. */
int mirage_tls_handshake(struct mirage_flow *tls, uint64_t deadline);

/* What a handshake agreed on. */
struct mirage_tls_info {
    const char *version; /* "TLS1.2" */
    const char *suite;   /* "ECDHE-RSA-AES128-GCM-SHA256" (OpenSSL's names) */
    const char *alpn;    /* the protocol chosen, or NULL */
    const char *sni;     /* the name the client asked for, or NULL */
    int resumed;         /* 1 when an earlier session was resumed */
};

/* Fills (info) for a flow whose handshake is done: 0, or MIRAGE_ENOTCONN
 * (not done yet or failed) or MIRAGE_EINVAL (not a TLS flow). The strings
 * live as long as the flow. */
int mirage_tls_info(struct mirage_flow *tls, struct mirage_tls_info *info);

/* Bytes a TLS flow holds of its own (engine state and record buffers, the
 * wrapped flow excluded), for (opts): what each connection costs. */
size_t mirage_tls_flow_size(const struct mirage_tls_opts *opts, int server);

/* Bytes (tls) holds now: mirage_tls_flow_size's while it works; while it waits idle, parked
 * on mirage_flow_on_readable (handshake done, nothing half read or left to send), it gives
 * its record buffers back and holds only the engine's state (about 4 KiB), taking them again
 * when it next reads or writes. 0 for a flow that is not TLS. */
size_t mirage_tls_flow_bytes(struct mirage_flow *tls);

#endif
