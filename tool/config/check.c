/* check.c: type-checks the device graph config.c built and orders it for main.c. */
#include <string.h>

#include "model.h"
#include "mirage/manifest.h"

enum { UNSEEN, VISITING, DONE };

struct walk {
    struct mirage_config *cfg;
    int depth;
    struct mirage_dev *path[CFG_MAX_DEVS];
};

static const char *label(const struct mirage_dev *d, char *buf, size_t size)
{
    return mirage_config_dev_label(d, buf, size);
}

/* Follows forward() placeholders to the device they stand for; NULL if one is
 * undefined or the forwards are defined as each other in a circle. */
static struct mirage_dev *resolve(struct mirage_config *cfg, struct mirage_dev *d)
{
    struct mirage_dev *seen[CFG_MAX_DEVS];
    int n = 0;

    while (d != NULL && d->kind == DEV_FORWARD) {
        if (d->mark == DONE)
            return NULL; /* already reported */
        for (int i = 0; i < n; i++) {
            char chain[CFG_ERR_LEN / 2];
            size_t len = 0;
            if (seen[i] != d)
                continue;
            for (int j = i; j <= n && len < sizeof(chain); j++) {
                struct mirage_dev *p = j < n ? seen[j] : d;
                int k = snprintf(chain + len, sizeof(chain) - len, "%sforward(%s) of line %d",
                                 j > i ? " -> " : "", mirage_config_sig_name(p->sig), p->line);
                if (k < 0)
                    break;
                len += (size_t)k;
            }
            mirage_config_error(cfg, d->file, d->line, "forward(%s) depends on itself: %s",
                                mirage_config_sig_name(d->sig), chain);
            for (int j = 0; j < n; j++)
                seen[j]->mark = DONE;
            return NULL;
        }
        if (d->defined_as == NULL) {
            mirage_config_error(cfg, d->file, d->line,
                                "forward(%s) is never defined: call define(fwd, device)",
                                mirage_config_sig_name(d->sig));
            d->mark = DONE;
            return NULL;
        }
        if (n == CFG_MAX_DEVS)
            return NULL;
        seen[n++] = d;
        d = d->defined_as;
    }
    return d;
}

/* Checks that argument (given) fits (want) where (user) takes it as argument (pos). */
static int check_arg(struct mirage_config *cfg, const char *file, int line, const char *user,
                     int pos, enum mirage_sig want, struct mirage_dev *given)
{
    char b[160];

    if (given == NULL) {
        mirage_config_error(cfg, file, line, "%s: device %d is NULL, expected a %s", user, pos,
                            mirage_config_sig_name(want));
        return -1;
    }
    if (given->sig != want) {
        mirage_config_error(cfg, file, line, "%s: device %d: expected %s, given %s, a %s (%s:%d)",
                            user, pos, mirage_config_sig_name(want), label(given, b, sizeof(b)),
                            mirage_config_sig_name(given->sig), given->file, given->line);
        return -1;
    }
    return 0;
}

static void report_cycle(struct walk *w, struct mirage_dev *d)
{
    char chain[CFG_ERR_LEN / 2] = "";
    char b[96];
    size_t n = 0;
    int start = 0;

    for (int i = 0; i < w->depth; i++)
        if (w->path[i] == d)
            start = i;
    for (int i = start; i <= w->depth && n < sizeof(chain); i++) {
        struct mirage_dev *p = i < w->depth ? w->path[i] : d;
        int k = snprintf(chain + n, sizeof(chain) - n, "%s%s", i > start ? " -> " : "",
                         label(p, b, sizeof(b)));
        if (k < 0)
            break;
        n += (size_t)k;
    }
    mirage_config_error(w->cfg, d->file, d->line, "%s depends on itself: %s",
                        label(d, b, sizeof(b)), chain);
}

/* Depth-first: a device's arguments are created before it, so post-order is main.c's order. */
static void visit(struct walk *w, struct mirage_dev *d)
{
    char user[160];

    if (d->mark == DONE)
        return;
    if (d->mark == VISITING) {
        report_cycle(w, d);
        return;
    }
    d->mark = VISITING;
    w->path[w->depth++] = d;
    label(d, user, sizeof(user));
    for (int i = 0; i < d->nargs; i++) {
        struct mirage_dev *a = d->args[i];
        if (check_arg(w->cfg, d->file, d->line, user, i + 1, d->want[i], a) < 0)
            continue;
        a = resolve(w->cfg, a);
        if (a != NULL) {
            d->args[i] = a;
            visit(w, a);
        }
    }
    w->depth--;
    d->mark = DONE;
    d->order = w->cfg->norder;
    w->cfg->order[w->cfg->norder++] = d;
}

static void check_job(struct mirage_config *cfg, struct walk *w)
{
    struct mirage_dev *job = resolve(cfg, cfg->job);
    char b[160], want[160] = "", given[160] = "";
    size_t nw = 0, ng = 0;

    if (job == NULL) {
        if (cfg->job == NULL)
            mirage_config_error(cfg, cfg->reg_file, cfg->reg_line,
                                "register_unikernel: the job is NULL, expected a job");
        return;
    }
    cfg->job = job;
    if (job->sig != MIRAGE_SIG_JOB) {
        mirage_config_error(cfg, cfg->reg_file, cfg->reg_line,
                            "register_unikernel: expected a job, given %s, a %s (%s:%d)",
                            label(job, b, sizeof(b)), mirage_config_sig_name(job->sig), job->file,
                            job->line);
        return;
    }
    if (job->nsigs != cfg->napplied) {
        for (int i = 0; i < job->nsigs && nw < sizeof(want); i++)
            nw += (size_t)snprintf(want + nw, sizeof(want) - nw, "%s%s", i ? ", " : "",
                                   mirage_config_sig_name(job->sigs[i]));
        for (int i = 0; i < cfg->napplied && ng < sizeof(given); i++)
            ng += (size_t)snprintf(given + ng, sizeof(given) - ng, "%s%s", i ? ", " : "",
                                   cfg->applied[i] ? mirage_config_sig_name(cfg->applied[i]->sig)
                                                   : "NULL");
        mirage_config_error(cfg, cfg->reg_file, cfg->reg_line,
                            "%s: expects %d device%s (%s), given %d (%s) (the job is at %s:%d)",
                            label(job, b, sizeof(b)), job->nsigs, job->nsigs == 1 ? "" : "s", want,
                            cfg->napplied, given, job->file, job->line);
        return;
    }
    label(job, b, sizeof(b));
    for (int i = 0; i < cfg->napplied; i++) {
        struct mirage_dev *a = cfg->applied[i];
        if (check_arg(cfg, cfg->reg_file, cfg->reg_line, b, i + 1, job->sigs[i], a) < 0)
            continue;
        a = resolve(cfg, a);
        if (a != NULL) {
            cfg->applied[i] = a;
            visit(w, a);
        }
    }
}

static void check_devices(struct mirage_config *cfg)
{
    struct mirage_dev *random = NULL;
    int nmanifest = 0;
    char b[160];

    for (int i = 0; i < cfg->norder; i++) {
        struct mirage_dev *d = cfg->order[i];
        if (d->sig == MIRAGE_SIG_RANDOM) {
            if (random != NULL)
                mirage_config_error(cfg, d->file, d->line,
                                    "%s: a second random generator (the first is at %s:%d): a "
                                    "unikernel has one",
                                    label(d, b, sizeof(b)), random->file, random->line);
            else
                random = d;
        }
        if (d->kind != DEV_NETIF && d->kind != DEV_BLOCK)
            continue;
        if (++nmanifest == MIRAGE_MANIFEST_MAX + 1)
            mirage_config_error(cfg, d->file, d->line, "too many platform devices: at most %d",
                                MIRAGE_MANIFEST_MAX);
        for (int j = 0; j < i; j++) {
            struct mirage_dev *e = cfg->order[j];
            if ((e->kind == DEV_NETIF || e->kind == DEV_BLOCK) &&
                strcmp(mirage_config_dev_name(e), mirage_config_dev_name(d)) == 0) {
                mirage_config_error(cfg, d->file, d->line,
                                    "%s: the device name '%s' is already used by %s (%s:%d)",
                                    label(d, b, sizeof(b)), mirage_config_dev_name(d),
                                    mirage_config_dev_label(e, b + 80, 80), e->file, e->line);
                break;
            }
        }
    }
}

static void check_keys(struct mirage_config *cfg)
{
    char declared[CFG_ERR_LEN / 2] = "";
    size_t n = 0;

    for (int i = 0; i < cfg->nkeys; i++) {
        struct cfg_key *k = &cfg->keys[i];
        if (strcmp(k->name, "net") == 0 && k->value != NULL) {
            if (strcmp(k->value, "direct") != 0 && strcmp(k->value, "socket") != 0)
                mirage_config_error(cfg, k->file, k->line, "--net=%s: expected direct or socket",
                                    k->value);
            else if (strcmp(k->value, "socket") == 0 && strcmp(cfg->target, "unix") != 0)
                mirage_config_error(cfg, k->file, k->line,
                                    "--net=socket: %s has no host sockets; it is always direct",
                                    cfg->target);
        }
        if (k->runtime && cfg->job != NULL && cfg->job->kind == DEV_JOB && cfg->job->argv)
            mirage_config_error(cfg, k->file, k->line,
                                "runtime key --%s: job(\"%s\") takes argv and parses its own "
                                "arguments: drop job_argv() or the key",
                                k->name, cfg->job->arg);
        if (!k->runtime && n < sizeof(declared))
            n += (size_t)snprintf(declared + n, sizeof(declared) - n, "%s--%s", n ? ", " : "",
                                  k->name);
    }
    for (int i = 0; i < cfg->nopts; i++) {
        if (cfg->opts[i].used)
            continue;
        mirage_config_error(cfg, "mirage configure", 0,
                            "unknown option --%s (config.c declares %s)", cfg->opts[i].name,
                            n ? declared : "no configure keys");
    }
}

int mirage_config_check(struct mirage_config *cfg)
{
    struct walk w = {.cfg = cfg};

    cfg->norder = 0;
    if (!cfg->registered) {
        mirage_config_error(cfg, "config.c", 0,
                            "register_unikernel() is never called: mirage_config() must register "
                            "the unikernel");
        return cfg->nerrs;
    }
    check_job(cfg, &w);
    check_devices(cfg);
    if (strcmp(cfg->target, "virtio") == 0)
        mirage_config_check_virtio(cfg);
    check_keys(cfg);
    return cfg->nerrs;
}
