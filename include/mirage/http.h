/* http.h: HTTP/1.1 (RFC 9110, 9112): message parsing, a server and a client over any flow. */
#ifndef MIRAGE_HTTP_H
#define MIRAGE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "mirage/channel.h"
#include "mirage/flow.h"
#include "mirage/stack.h"

/* ---- messages ----------------------------------------------------------- */

#define MIRAGE_HTTP_MAX_FIELDS 100 /* header fields one message can carry, at most */

enum mirage_http_method {
    MIRAGE_HTTP_GET = 1,
    MIRAGE_HTTP_HEAD,
    MIRAGE_HTTP_POST,
    MIRAGE_HTTP_PUT,
    MIRAGE_HTTP_DELETE,
    MIRAGE_HTTP_OPTIONS,
    MIRAGE_HTTP_PATCH,
};

/* A header field; both strings are NUL-terminated views into the parsed
 * head, the value without surrounding whitespace. */
struct mirage_http_field {
    const char *name, *value;
};

/* How a message's body is framed (RFC 9112 6). */
struct mirage_http_framing {
    int chunked;     /* Transfer-Encoding: chunked */
    int has_length;  /* Content-Length given */
    uint64_t length; /* its value */
    int close;       /* the connection ends after this message */
};

struct mirage_http_request {
    enum mirage_http_method method;
    const char *method_name;
    const char *path;  /* the target's path ("/a/b", or "*" for OPTIONS *), not decoded */
    const char *query; /* what followed '?', or NULL */
    int minor;         /* HTTP/1.minor: 0 or 1 */
    const char *host;  /* the Host field (or the absolute target's authority), or NULL */
    int expect_continue;
    struct mirage_http_framing framing;
    size_t nfields;
    struct mirage_http_field fields[MIRAGE_HTTP_MAX_FIELDS];
};

struct mirage_http_response_head {
    int status;
    int minor;
    const char *reason;
    struct mirage_http_framing framing;
    size_t nfields;
    struct mirage_http_field fields[MIRAGE_HTTP_MAX_FIELDS];
};

/*
 * Parses a request head in place: the request line and the header fields,
 * each ending in CRLF, then the empty line; (len) covers all of it. Strings
 * in (req) point into (head). Refuses what RFC 9112 says to refuse, the
 * request-smuggling vectors included: a bare CR or LF, obs-fold, whitespace
 * before a field's colon, a conflicting or malformed Content-Length,
 * Transfer-Encoding with Content-Length or in HTTP/1.0, a missing or
 * repeated Host in HTTP/1.1. Returns 0, or the status to answer (400, 417,
 * 431 for more than (max_fields) fields, 501 for a method or transfer coding
 * not implemented, 505 for a major version other than 1) with *err naming the
 * problem.
 */
int mirage_http_parse_request(char *head, size_t len, size_t max_fields,
                              struct mirage_http_request *req, const char **err);

/* Parses a response head in place, as the request. Returns 0 or
 * MIRAGE_EINVAL with *err naming the problem. (request_method) tells a
 * response to HEAD, whose body is empty whatever its framing says. */
int mirage_http_parse_response(char *head, size_t len, int request_method,
                               struct mirage_http_response_head *resp, const char **err);

/* The length of the head at the start of (p, n): up to and including the
 * first empty line (CRLF, or a bare LF, which the parsers then refuse); 0
 * while it is incomplete. */
size_t mirage_http_head_end(const uint8_t *p, size_t n);

/* The value of the first field called (name) (case-insensitive), or NULL. */
const char *mirage_http_field(const struct mirage_http_field *fields, size_t n, const char *name);
const char *mirage_http_request_field(const struct mirage_http_request *req, const char *name);

/* A chunk-size line (without its CRLF): hexadecimal size, then optional
 * chunk extensions. Returns 0 with *size, or MIRAGE_EINVAL (empty, not hex,
 * more than 15 digits, junk after the size). */
int mirage_http_parse_chunk_size(const char *line, size_t len, uint64_t *size);

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for (seconds) since the
 * epoch into out[30]; mirage_http_date_parse reads one back (also the RFC 850
 * and asctime forms RFC 9110 5.6.7 asks recipients to accept). Parse returns
 * 0 or MIRAGE_EINVAL. */
void mirage_http_date_format(uint64_t seconds, char out[30]);
int mirage_http_date_parse(const char *s, uint64_t *seconds);

/* A Range field against a representation of (size) bytes: returns 0 with the
 * one satisfiable range [*first, *last]; 1 when the field is to be ignored
 * (not "bytes=", several ranges, malformed: RFC 9110 14.2 lets the server
 * send the whole); MIRAGE_ERANGE when unsatisfiable (416). */
int mirage_http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last);

/* "Not Found" for 404, ...; "Unknown" for codes not listed. */
const char *mirage_http_reason(int status);

/* ---- bodies -------------------------------------------------------------- */

/* Reads a message body from a channel, framed by length or chunked (the
 * trailer fields are read and dropped). Caller-owned. */
struct mirage_http_body {
    struct mirage_channel *ch;
    int chunked, until_close, done;
    uint64_t left;  /* bytes left in the body (length) or in the current chunk */
    uint64_t total; /* bytes of body read so far */
    uint64_t max;   /* more than this is MIRAGE_EMSGSIZE; 0: no limit */
    size_t max_line;
    int state; /* chunked: 0 size line next, 1 in data, 2 CRLF after data, 3 done */
};

/* Sets (b) up for the framing (f) over (ch); until_close reads to the end of the stream. */
void mirage_http_body_init(struct mirage_http_body *b, struct mirage_channel *ch,
                           const struct mirage_http_framing *f, int until_close, uint64_t max);

/* Reads up to (cap) bytes of body. Returns 0 with *got > 0, 0 with *got ==
 * 0 at the body's end, MIRAGE_EINVAL for bad chunk framing, MIRAGE_EMSGSIZE
 * past (max), MIRAGE_ENODATA if the stream ended inside the body, or the
 * flow's error. */
int mirage_http_body_read(struct mirage_http_body *b, void *buf, size_t cap, size_t *got,
                          uint64_t deadline);

/* ---- the server ---------------------------------------------------------- */

/*
 * Connections are kept with no fiber while they wait for a request: a flow
 * that offers mirage_flow_on_readable (the direct stack's TCP) costs the
 * server a small record, plus what a partial request has sent so far, until
 * bytes arrive; then one of a bounded pool of worker fibers (each with its
 * own buffers) reads the request, runs the handler and writes the response,
 * and the connection is parked again. Flows without the notification get a
 * fiber of their own. A slow client therefore never holds a worker while it
 * sends its head; it holds one only while the handler runs (reading a body,
 * or a response larger than the flow's send buffer).
 */
struct mirage_http_server_config {
    size_t max_line;       /* request line; longer: 414 (default 8 KiB) */
    size_t max_head;       /* request line and fields; larger: 431 (default 16 KiB) */
    unsigned max_fields;   /* more fields: 431 (default 64, at most MIRAGE_HTTP_MAX_FIELDS) */
    uint64_t max_body;     /* request body bytes; more: 413 (default 1 MiB) */
    uint64_t idle_timeout; /* ns a kept-alive connection may wait for its next request (60 s) */
    uint64_t head_timeout; /* ns from a request's first byte to its whole head; then 408 (10 s) */
    uint64_t body_timeout; /* ns for each read of a request body and write of a response (30 s) */
    unsigned workers;      /* worker fibers at most (default 32) */
    size_t worker_stack;   /* their stacks (0: the runtime's default) */
    size_t max_conns;      /* connections at most; beyond, new ones are closed (default: none) */
};

struct mirage_http_server;
struct mirage_http_exchange; /* one request and its response, during the handler */

/* Runs once per request on a worker fiber; may wait (read the body, write).
 * Returns 0, or an error: the server then answers 500 if nothing was sent,
 * else closes the connection. */
typedef int (*mirage_http_handler)(void *ctx, struct mirage_http_exchange *x);

/* A server calling handler(ctx, x) for each request; cfg may be NULL (the
 * defaults). Returns NULL when out of memory. */
struct mirage_http_server *mirage_http_server_new(const struct mirage_http_server_config *cfg,
                                                  mirage_http_handler handler, void *ctx);

/* Serves (flow) (the server owns and closes it); (peer, port) only name it in
 * the access log (peer may be NULL). Never waits. Returns 0, or MIRAGE_ENOMEM
 * / MIRAGE_ENOSPC (max_conns) after closing the flow. */
int mirage_http_server_add(struct mirage_http_server *s, struct mirage_flow *flow,
                           const struct mirage_ipaddr *peer, uint16_t port);

/* Accepts connections on (l) and serves each, wrapped first by wrap(ctx, flow)
 * when wrap is not NULL (TLS); a NULL from wrap drops the connection. Returns
 * only when accept fails (its error) or the fiber is cancelled. */
int mirage_http_serve(struct mirage_http_server *s, struct mirage_tcp_listener *l,
                      struct mirage_flow *(*wrap)(void *ctx, struct mirage_flow *flow),
                      void *wrap_ctx);

/* Closes every connection, stops the workers (waiting for them) and frees (s). */
void mirage_http_server_free(struct mirage_http_server *s);

struct mirage_http_server_stats {
    uint64_t conns;    /* open now */
    uint64_t parked;   /* of which waiting with no fiber */
    uint64_t workers;  /* worker fibers alive */
    uint64_t requests; /* answered since the start */
    uint64_t errors;   /* of which with a 4xx/5xx the server made (parse, limits) */
    uint64_t heap;     /* bytes the server holds for its connections (records, partial heads) */
};
void mirage_http_server_stats(const struct mirage_http_server *s,
                              struct mirage_http_server_stats *st);

/* The request being answered. */
const struct mirage_http_request *
mirage_http_exchange_request(const struct mirage_http_exchange *x);

/* Adds a response header field before mirage_http_start. Returns 0,
 * MIRAGE_ENOSPC (they exceed 2 KiB) or MIRAGE_EINVAL (CR or LF in them, or
 * the response has started). */
int mirage_http_add_header(struct mirage_http_exchange *x, const char *name, const char *value);

/* Sends the status line and headers (Date, Server, the framing, Connection).
 * (length): the body's size, or -1 for chunked (a close-delimited body for
 * an HTTP/1.0 client). A response to HEAD sends no body, whatever is written. */
int mirage_http_start(struct mirage_http_exchange *x, int status, int64_t length);

/* Sends body bytes; more than the announced length is MIRAGE_EINVAL. */
int mirage_http_write(struct mirage_http_exchange *x, const void *data, size_t len);

/* Ends the body (the last chunk) and flushes. The server calls it when the
 * handler did not. */
int mirage_http_finish(struct mirage_http_exchange *x);

/* start + write + finish, with Content-Type (content_type may be NULL). */
int mirage_http_respond(struct mirage_http_exchange *x, int status, const char *content_type,
                        const void *body, size_t len);

/* Reads the request body (sends "100 Continue" first when the client asked
 * for it). As mirage_http_body_read; the server answers 413 itself when the
 * handler gets MIRAGE_EMSGSIZE and returns it before responding. */
int mirage_http_read_body(struct mirage_http_exchange *x, void *buf, size_t cap, size_t *got);

/* ---- the client ---------------------------------------------------------- */

/*
 * GET and POST by URL ("http://10.0.0.1:8080/path?q",
 * "http://[fd00::1]:8080/path"; https:// through the config's wrap, e.g.
 * TLS), over a stack's TCP. Hosts are IPv4 or bracketed IPv6 literals, or
 * names the config's resolve function finds (e.g. the stub resolver's
 * mirage_dns_resolve). The connection is kept after a response that allows it and
 * reused by the next request to the same scheme, host and port; a reused
 * connection the server has meanwhile closed is replaced once, transparently,
 * for GET and HEAD. Redirects (301, 302, 303, 307, 308) are followed up to
 * max_redirects times.
 */
struct mirage_http_client_config {
    uint64_t timeout;       /* ns for connecting, and for each read and write (default 30 s) */
    unsigned max_redirects; /* default 5; 0 turns following off only with no_redirects */
    int no_redirects;
    uint64_t max_body; /* collected bodies larger than this: MIRAGE_EMSGSIZE (16 MiB) */
    /* When set, body bytes go to sink(ctx, data, len) as they come instead of
     * being collected; an error it returns ends the request with it. */
    int (*sink)(void *ctx, const void *data, size_t len);
    void *sink_ctx;
    /* https:// URLs: wraps a new connection to (host) (TLS; an IPv6 host
     * without its brackets); NULL: refused with MIRAGE_ENOTSUP. */
    struct mirage_flow *(*wrap)(void *ctx, struct mirage_flow *tcp, const char *host);
    void *wrap_ctx;
    /* A host that is not an IP literal: its address into *addr (0 or an
     * error); NULL: such hosts are refused. May suspend the calling fiber. */
    int (*resolve)(void *ctx, const char *host, struct mirage_ipaddr *addr);
    void *resolve_ctx;
};

struct mirage_http_client;

struct mirage_http_client_response {
    struct mirage_http_response_head head; /* status, fields */
    uint8_t *body; /* collected body (NUL-terminated), or NULL with a sink */
    size_t len;
    unsigned redirects; /* followed */
    char url[2048];     /* the URL finally answered */
};

/* A client over (stack); cfg may be NULL (defaults). NULL when out of memory. */
struct mirage_http_client *mirage_http_client_new(struct mirage_stack *stack,
                                                  const struct mirage_http_client_config *cfg);
/* Closes the kept connection and frees (c). */
void mirage_http_client_free(struct mirage_http_client *c);

/* Sends (method) to (url) with (body, len) (Content-Length; content_type may
 * be NULL) and reads the response into a new *out the caller frees with
 * mirage_http_client_response_free. Suspends the calling fiber. Returns 0
 * (any status), MIRAGE_EINVAL (a bad URL, or a response that is not HTTP,
 * *err names why), MIRAGE_ENOTSUP (a scheme it cannot speak), MIRAGE_EMSGSIZE,
 * MIRAGE_ELOOP (too many redirects), or the connection's error. */
int mirage_http_client_request(struct mirage_http_client *c, enum mirage_http_method method,
                               const char *url, const void *body, size_t len,
                               const char *content_type, struct mirage_http_client_response **out,
                               const char **err);
void mirage_http_client_response_free(struct mirage_http_client_response *r);

/* A URL split (RFC 3986): scheme "http" or "https", host (a name, an IPv4
 * literal, or an IPv6 literal given in brackets, "[fd00::1]", stored without
 * them), port (the scheme's default when absent), path with query ("/" when
 * empty), and the host as an address when it is a literal (family 4 or 6;
 * 0 for a name). Returns 0 or MIRAGE_EINVAL with *err. */
struct mirage_http_url {
    char scheme[8];
    char host[256];
    uint16_t port;
    char path[2048];
    struct mirage_ipaddr ip;
};
int mirage_http_url_parse(const char *url, struct mirage_http_url *u, const char **err);

#endif
