/* unikernel.c: notes, a small persistent notes service over TCP keeping its notes in a kv store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage/channel.h"
#include "mirage/kv.h"
#include "mirage/log.h"
#include "mirage/sched.h"
#include "mirage/stack.h"

/*
 * One command per line, one answer per line ("OK ...", "ERR ..."):
 *   PUT NAME TEXT      stores TEXT as note NAME (replacing it)
 *   ADD NAME TEXT      appends TEXT and a newline to note NAME (creating it)
 *   GET NAME           "OK " and the note, newlines shown as \n
 *   DEL NAME           removes note NAME
 *   MV NAME NEW        renames note NAME to NEW
 *   LIST               "OK N" then one name per line
 *   QUIT               ends the connection
 * Notes are the values under /notes in the store; with kv_rw_disk each change
 * is on the disk when its OK is sent, so the notes are back after a restart
 * or a crash.
 */

#define LINE_MAX 4096

struct server {
    struct mirage_kv *kv;
    struct mirage_fiber_group conns;
};

struct conn {
    struct server *srv;
    struct mirage_flow *flow;
    struct mirage_channel ch;
    uint8_t rbuf[LINE_MAX + 2], wbuf[8192];
};

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return !(n <= 2 && s[0] == '.' && (n == 1 || s[1] == '.'));
}

/* Splits "WORD REST" at the first space: the word into (w, wn), the rest after it. */
static const char *word(const char *p, const char *end, size_t *wn)
{
    const char *s = p;
    while (p < end && *p != ' ')
        p++;
    *wn = (size_t)(p - s);
    return p < end ? p + 1 : end;
}

static int answer_err(struct conn *c, const struct mirage_kv_error *e)
{
    char msg[2300];
    return mirage_channel_printf(&c->ch, MIRAGE_FOREVER, "ERR %s\n",
                                 mirage_kv_strerror(e, msg, sizeof msg));
}

static int command(struct conn *c, const char *line, size_t len)
{
    struct mirage_kv *kv = c->srv->kv;
    struct mirage_kv_error e;
    const char *end = line + len, *cmd = line, *name, *rest;
    size_t cn, nn, rn;
    char key[80], key2[80];
    int r;

    rest = word(cmd, end, &cn);
    name = rest;
    rest = word(name, end, &nn);
    rn = (size_t)(end - rest);
    if (cn == 4 && memcmp(cmd, "LIST", 4) == 0) {
        struct mirage_kv_entry *ents;
        size_t n;
        r = mirage_kv_list(kv, "/notes", &ents, &n, &e);
        if (r == MIRAGE_ENOENT)
            return mirage_channel_printf(&c->ch, MIRAGE_FOREVER, "OK 0\n");
        if (r)
            return answer_err(c, &e);
        r = mirage_channel_printf(&c->ch, MIRAGE_FOREVER, "OK %zu\n", n);
        for (size_t i = 0; r == 0 && i < n; i++)
            r = mirage_channel_printf(&c->ch, MIRAGE_FOREVER, "%s\n",
                                      mirage_kv_key_basename(ents[i].key));
        free(ents);
        return r;
    }
    if (!valid_name(name, nn))
        return mirage_channel_printf(&c->ch, MIRAGE_FOREVER,
                                     "ERR a note name: 1-64 of A-Z a-z 0-9 - _ .\n");
    snprintf(key, sizeof key, "/notes/%.*s", (int)nn, name);
    if (cn == 3 && memcmp(cmd, "PUT", 3) == 0) {
        r = mirage_kv_set(kv, key, rest, rn, &e);
    } else if (cn == 3 && memcmp(cmd, "ADD", 3) == 0) {
        char *t = malloc(rn + 1);
        if (t == NULL)
            return mirage_channel_printf(&c->ch, MIRAGE_FOREVER, "ERR out of memory\n");
        memcpy(t, rest, rn);
        t[rn] = '\n';
        r = mirage_kv_set_partial(kv, key, UINT64_MAX, t, rn + 1, &e);
        free(t);
    } else if (cn == 3 && memcmp(cmd, "DEL", 3) == 0) {
        r = mirage_kv_remove(kv, key, &e);
    } else if (cn == 2 && memcmp(cmd, "MV", 2) == 0) {
        if (!valid_name(rest, rn))
            return mirage_channel_printf(&c->ch, MIRAGE_FOREVER, "ERR a new name is needed\n");
        snprintf(key2, sizeof key2, "/notes/%.*s", (int)rn, rest);
        r = mirage_kv_rename(kv, key, key2, &e);
    } else if (cn == 3 && memcmp(cmd, "GET", 3) == 0) {
        uint8_t *v;
        size_t vn;
        r = mirage_kv_get(kv, key, &v, &vn, &e);
        if (r)
            return answer_err(c, &e);
        r = mirage_channel_write(&c->ch, "OK ", 3, MIRAGE_FOREVER);
        for (size_t i = 0; r == 0 && i < vn; i++)
            r = v[i] == '\n' ? mirage_channel_write(&c->ch, "\\n", 2, MIRAGE_FOREVER)
                             : mirage_channel_write(&c->ch, &v[i], 1, MIRAGE_FOREVER);
        free(v);
        return r ? r : mirage_channel_write(&c->ch, "\n", 1, MIRAGE_FOREVER);
    } else {
        return mirage_channel_printf(&c->ch, MIRAGE_FOREVER,
                                     "ERR commands: PUT ADD GET DEL MV LIST QUIT\n");
    }
    return r ? answer_err(c, &e) : mirage_channel_printf(&c->ch, MIRAGE_FOREVER, "OK\n");
}

static int serve(void *arg)
{
    struct conn *c = arg;
    const char *line;
    size_t len;
    int r;

    mirage_channel_init(&c->ch, c->flow, c->rbuf, sizeof c->rbuf, c->wbuf, sizeof c->wbuf);
    for (;;) {
        r = mirage_channel_read_line(&c->ch, &line, &len, LINE_MAX, MIRAGE_FOREVER);
        if (r == MIRAGE_EMSGSIZE) {
            mirage_channel_printf(&c->ch, MIRAGE_FOREVER, "ERR line longer than %d bytes\n",
                                  LINE_MAX);
            break;
        }
        if (r || (len == 4 && memcmp(line, "QUIT", 4) == 0))
            break;
        if (command(c, line, len) || mirage_channel_flush(&c->ch, MIRAGE_FOREVER))
            break;
    }
    mirage_channel_flush(&c->ch, MIRAGE_FOREVER);
    mirage_flow_shutdown(c->flow, MIRAGE_SHUT_WR);
    mirage_flow_close(c->flow);
    free(c);
    return 0;
}

int start(struct mirage_kv *kv, struct mirage_stack *stack)
{
    uint16_t port = (uint16_t)key_port.v.num;
    long long limit = key_connections.v.num;
    struct server srv = {kv, {0}};
    struct mirage_tcp_listener *l;
    struct mirage_kv_entry *ents;
    size_t n = 0;
    int r;

    if (mirage_kv_list(kv, "/notes", &ents, &n, NULL) == 0)
        free(ents);
    r = mirage_tcp_listen(stack, port, NULL, &l);
    if (r < 0) {
        mirage_log_err(&mirage_log_app, "cannot listen on port %u: %s", port, mirage_strerror(r));
        return 1;
    }
    mirage_log_app_msg(&mirage_log_app, "notes on TCP port %u, %zu notes kept", port, n);
    while (limit == 0 || srv.conns.spawned < (unsigned long long)limit) {
        struct conn *c = calloc(1, sizeof(*c));

        if (c == NULL)
            return 1;
        c->srv = &srv;
        r = mirage_tcp_accept(l, &c->flow, NULL, NULL, MIRAGE_FOREVER);
        if (r < 0) {
            free(c);
            mirage_log_err(&mirage_log_app, "accept: %s", mirage_strerror(r));
            return 1;
        }
        if (mirage_fiber_group_spawn(&srv.conns, "note", serve, c, 0) < 0) {
            mirage_flow_close(c->flow);
            free(c);
        }
    }
    mirage_fiber_group_wait(&srv.conns, MIRAGE_FOREVER);
    mirage_tcp_unlisten(l);
    mirage_log_app_msg(&mirage_log_app, "served %lu connections: bye", srv.conns.spawned);
    return 0;
}
