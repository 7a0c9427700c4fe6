/* test_config.c: the configuration library: graph checking errors and what the generator writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tool/config/model.h"
#include "check.h"
#include "mirage/key.h"

/* 1 if some error starts with "THIS_FILE:line: " and contains (text). */
static int has_error(const struct mirage_config *cfg, int line, const char *text)
{
    char prefix[256];

    snprintf(prefix, sizeof(prefix), "%s:%d: ", __FILE__, line);
    for (int i = 0; i < cfg->nerrs; i++)
        if (strncmp(cfg->errs[i], prefix, strlen(prefix)) == 0 && strstr(cfg->errs[i], text))
            return 1;
    for (int i = 0; i < cfg->nerrs; i++)
        fprintf(stderr, "  (error was: %s)\n", cfg->errs[i]);
    return 0;
}

typedef void gen_fn(const struct mirage_config *cfg, FILE *out);

/* What (fn) writes for (cfg), as a string the caller frees. */
static char *gen(gen_fn *fn, const struct mirage_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    fn(cfg, f);
    fclose(f);
    return text;
}

static void test_good_graph(const char *target, const char *netname)
{
    struct mirage_config *cfg = mirage_config_new(target);
    struct mirage_dev *j = job("start", NETWORK, BLOCK);
    struct mirage_dev *net = default_network();
    char *main_c, *start_h, *dot;

    register_unikernel("echo", j, net, block("storage"));
    CHECK_INT(mirage_config_check(cfg), 0);
    CHECK_INT(cfg->norder, 2);
    CHECK_STR(mirage_config_dev_name(cfg->order[0]), netname);
    CHECK_STR(mirage_config_dev_name(cfg->order[1]), "storage");
    main_c = gen(mirage_gen_main, cfg);
    start_h = gen(mirage_gen_start_h, cfg);
    dot = gen(mirage_gen_dot, cfg);
    {
        char want[128];
        snprintf(want, sizeof(want),
                 "MIRAGE_MANIFEST(MIRAGE_NET(\"%s\"), MIRAGE_BLOCK(\"storage\"));", netname);
        CHECK(strstr(main_c, want) != NULL);
    }
    CHECK(strstr(main_c, "r = mirage_net_acquire(dev0.name, &dev0.handle, &dev0.info);") != NULL);
    CHECK(strstr(main_c, "r = mirage_block_connect(\"storage\", &dev1);") != NULL);
    CHECK(strstr(main_c, "r = start(&dev0, dev1);") != NULL);
    CHECK(strstr(main_c, "mirage_block_disconnect(dev1);") != NULL);
    CHECK(strstr(main_c, "r = mirage_key_parse_args(argc, argv, keys);") != NULL);
    CHECK(strstr(start_h, "int start(struct mirage_netif *, struct mirage_block *);") != NULL);
    CHECK(strstr(dot, "job -> d0 [label = \"1\"];") != NULL);
    CHECK(strstr(dot, "job -> d1 [label = \"2\"];") != NULL);
    free(main_c);
    free(start_h);
    free(dot);
    mirage_config_free(cfg);
}

static void test_signature_mismatch(void)
{
    struct mirage_config *cfg = mirage_config_new("unix");
    int l_blk = __LINE__ + 1;
    struct mirage_dev *disk = block("disk");
    struct mirage_dev *j = job("start", NETWORK);
    int l_reg = __LINE__ + 1;
    register_unikernel("bad", j, disk);

    CHECK_INT(mirage_config_check(cfg), 1);
    {
        char want[200];
        snprintf(
            want, sizeof(want),
            "job(\"start\"): device 1: expected network, given block(\"disk\"), a block (%s:%d)",
            __FILE__, l_blk);
        CHECK(has_error(cfg, l_reg, want));
    }
    mirage_config_free(cfg);
}

static void test_constructor_mismatch(void)
{
    struct mirage_config *cfg = mirage_config_new("hvt");
    struct mirage_dev *disk = block("disk");
    int l_stack = __LINE__ + 1;
    struct mirage_dev *stack = generic_stackv4v6(disk);

    register_unikernel("bad", job("start", STACKV4V6), stack);
    CHECK(mirage_config_check(cfg) >= 1);
    CHECK(has_error(cfg, l_stack,
                    "generic_stackv4v6(): device 1: expected network, given "
                    "block(\"disk\"), a block"));
    CHECK_INT(cfg->nerrs, 1);
    mirage_config_free(cfg);
}

static void test_arity(void)
{
    struct mirage_config *cfg = mirage_config_new("unix");
    struct mirage_dev *j = job("start", NETWORK, BLOCK);
    int l_reg = __LINE__ + 1;
    register_unikernel("bad", j, default_network());

    CHECK_INT(mirage_config_check(cfg), 1);
    CHECK(has_error(cfg, l_reg,
                    "job(\"start\"): expects 2 devices (network, block), given 1 "
                    "(network)"));
    mirage_config_free(cfg);

    cfg = mirage_config_new("unix");
    l_reg = __LINE__ + 1;
    register_unikernel("bad", noop(), default_network());
    CHECK_INT(mirage_config_check(cfg), 1);
    CHECK(has_error(cfg, l_reg, "noop(): expects 0 devices (), given 1 (network)"));
    mirage_config_free(cfg);
}

static void test_two_randoms(void)
{
    struct mirage_config *cfg = mirage_config_new("unix");
    int l_r1 = __LINE__ + 1;
    struct mirage_dev *r1 = default_random();
    int l_r2 = __LINE__ + 1;
    struct mirage_dev *r2 = default_random();
    char want[200];

    register_unikernel("bad", job("start", RANDOM, RANDOM), r1, r2);
    mirage_config_check(cfg);
    snprintf(want, sizeof(want),
             "default_random(): a second random generator (the first is at %s:%d)", __FILE__, l_r1);
    CHECK(has_error(cfg, l_r2, want));
    mirage_config_free(cfg);
}

/* default_random() is a device: main.c hands the runtime's generator to start(). The same
 * device given twice is still one generator; two are refused (test_two_randoms). */
static void test_random_device(void)
{
    struct mirage_config *cfg = mirage_config_new("spt");
    int l_rng = __LINE__ + 1;
    struct mirage_dev *rng = default_random();
    char *main_c, *start_h, *describe, *dot, want[200];

    register_unikernel("dice", job("start", RANDOM, NETWORK, RANDOM), rng, default_network(), rng);
    CHECK_INT(mirage_config_check(cfg), 0);
    CHECK_INT(cfg->norder, 2);
    main_c = gen(mirage_gen_main, cfg);
    start_h = gen(mirage_gen_start_h, cfg);
    describe = gen(mirage_gen_describe, cfg);
    dot = gen(mirage_gen_dot, cfg);
    CHECK(strstr(main_c, "#include \"mirage/random.h\"") != NULL);
    CHECK(strstr(main_c, "static struct mirage_random *dev0;") != NULL);
    CHECK(strstr(main_c, "    dev0 = mirage_random_default();\n") != NULL);
    CHECK(strstr(main_c, "return start(dev0, &dev1, dev0);") != NULL);
    CHECK(strstr(main_c, "MIRAGE_MANIFEST(MIRAGE_NET(\"service\"));") != NULL);
    CHECK(strstr(start_h, "#include \"mirage/random.h\"") != NULL);
    CHECK(strstr(start_h, "int start(struct mirage_random *, struct mirage_netif *, "
                          "struct mirage_random *);") != NULL);
    snprintf(want, sizeof(want),
             "  d0  default_random()         random     the runtime's Fortuna  %s:%d\n", __FILE__,
             l_rng);
    CHECK(strstr(describe, want) != NULL);
    snprintf(want, sizeof(want), "    d0 [label = \"default_random()\\nrandom\\n%s:%d\"];\n",
             __FILE__, l_rng);
    CHECK(strstr(dot, want) != NULL);
    CHECK(strstr(dot, "job -> d0 [label = \"3\"];") != NULL);
    free(main_c);
    free(start_h);
    free(describe);
    free(dot);
    mirage_config_free(cfg);

    /* Without a random device, neither file includes the header. */
    cfg = mirage_config_new("unix");
    register_unikernel("plain", job("start"));
    CHECK_INT(mirage_config_check(cfg), 0);
    main_c = gen(mirage_gen_main, cfg);
    start_h = gen(mirage_gen_start_h, cfg);
    CHECK(strstr(main_c, "mirage/random.h") == NULL);
    CHECK(strstr(start_h, "mirage/random.h") == NULL);
    free(main_c);
    free(start_h);
    mirage_config_free(cfg);
}

static void test_cycle(void)
{
    struct mirage_config *cfg = mirage_config_new("unix");
    int l_a = __LINE__ + 1;
    struct mirage_dev *a = forward(NETWORK);
    int l_b = __LINE__ + 1;
    struct mirage_dev *b = forward(NETWORK);
    char want[200];

    define(a, b);
    define(b, a);
    register_unikernel("loop", job("start", NETWORK), a);
    CHECK_INT(mirage_config_check(cfg), 1);
    snprintf(want, sizeof(want),
             "forward(network) depends on itself: forward(network) of line %d -> "
             "forward(network) of line %d -> forward(network) of line %d",
             l_a, l_b, l_a);
    CHECK(has_error(cfg, l_a, want));
    mirage_config_free(cfg);

    /* A forward defined once stands for its device: no error, one device. */
    cfg = mirage_config_new("unix");
    a = forward(NETWORK);
    define(a, netif("eth0"));
    register_unikernel("ok", job("start", NETWORK, NETWORK), a, a);
    CHECK_INT(mirage_config_check(cfg), 0);
    CHECK_INT(cfg->norder, 1);
    mirage_config_free(cfg);

    cfg = mirage_config_new("unix");
    l_a = __LINE__ + 1;
    a = forward(BLOCK);
    register_unikernel("bad", job("start", BLOCK), a);
    CHECK_INT(mirage_config_check(cfg), 1);
    CHECK(has_error(cfg, l_a, "forward(block) is never defined"));
    mirage_config_free(cfg);

    cfg = mirage_config_new("unix");
    a = forward(BLOCK);
    l_b = __LINE__ + 1;
    define(a, netif("x"));
    CHECK(has_error(cfg, l_b, "forward(block): expected block, given netif(\"x\"), a network"));
    mirage_config_free(cfg);
}

static void test_names_and_options(void)
{
    struct mirage_config *cfg = mirage_config_new("spt");
    int l_bad = __LINE__ + 1;
    struct mirage_dev *bad = netif("no spaces");
    struct mirage_dev *n1 = netif("service");
    int l_dup = __LINE__ + 1;
    struct mirage_dev *n2 = default_network();

    register_unikernel("names", job("start", NETWORK, NETWORK, NETWORK), bad, n1, n2);
    mirage_config_check(cfg);
    CHECK(has_error(cfg, l_bad, "netif(\"no spaces\"): a device name is 1 to 59 letters"));
    CHECK(has_error(cfg, l_dup,
                    "default_network(): the device name 'service' is already used by "
                    "netif(\"service\")"));
    mirage_config_free(cfg);

    cfg = mirage_config_new("unix");
    CHECK_INT(mirage_config_option(cfg, "--port=80"), 0);
    CHECK_INT(mirage_config_option(cfg, "--no-dhcp"), 0);
    CHECK_INT(mirage_config_option(cfg, "--=x"), -1);
    CHECK_STR(configure_key("port", "the port", "8080"), "80");
    CHECK_STR(configure_key("host", "the host", "example"), "example");
    register_unikernel("opts", noop());
    CHECK_INT(mirage_config_check(cfg), 1);
    CHECK_STR(cfg->errs[0],
              "mirage configure: unknown option --no-dhcp (config.c declares --port, --host)");
    mirage_config_free(cfg);

    /* The generic stack's --net key: socket exists only on unix. */
    cfg = mirage_config_new("hvt");
    CHECK_INT(mirage_config_option(cfg, "--net=socket"), 0);
    {
        int l_stack = __LINE__ + 1;
        struct mirage_dev *s = generic_stackv4v6(default_network());
        register_unikernel("net", job("start", STACKV4V6), s);
        mirage_config_check(cfg);
        CHECK(has_error(cfg, l_stack,
                        "--net=socket: hvt has no host sockets; it is always "
                        "direct"));
    }
    mirage_config_free(cfg);
}

/* kv_rw_disk over block("notes"): main.c connects the device, then opens
 * (or formats, when blank) the store on it; the store goes first. */
static void test_kv_disk(void)
{
    static const char *const targets[] = {"unix", "spt", "hvt"};

    for (int t = 0; t < 3; t++) {
        struct mirage_config *cfg = mirage_config_new(targets[t]);
        char *main_c;
        register_unikernel("notes", job("start", KV_RW), kv_rw_disk(block("notes")));
        CHECK_INT(mirage_config_check(cfg), 0);
        main_c = gen(mirage_gen_main, cfg);
        CHECK(strstr(main_c, "MIRAGE_MANIFEST(MIRAGE_BLOCK(\"notes\"));") != NULL);
        CHECK(strstr(main_c, "r = mirage_block_connect(\"notes\", &dev0);\n") != NULL);
        CHECK(strstr(main_c, "r = mirage_kv_disk_open(dev0, &dev1);\n") != NULL);
        CHECK(strstr(main_c, "\"kv_rw\", \"kv_rw_disk()\", r);") != NULL);
        CHECK(strstr(main_c,
                     "    mirage_kv_disconnect(dev1);\n    mirage_block_disconnect(dev0);\n") !=
              NULL);
        free(main_c);
        mirage_config_free(cfg);
    }
    {
        struct mirage_config *cfg = mirage_config_new("unix");
        int l = __LINE__ + 1;
        struct mirage_dev *bad = kv_rw_disk(crunch("tests/e2e/tool"));
        register_unikernel("notes", job("start", KV_RW), bad);
        mirage_config_check(cfg);
        CHECK(has_error(cfg, l, "expected block, given crunch(\"tests/e2e/tool\"), a kv_ro"));
        mirage_config_free(cfg);
    }
}

/* tar_kv_ro over block("data") and block_of_file("site.tar"): main.c connects
 * the block device, then indexes the archive on it; the store goes first. */
static void test_tar(void)
{
    static const char *const targets[] = {"unix", "spt", "hvt"};

    for (int t = 0; t < 3; t++) {
        struct mirage_config *cfg = mirage_config_new(targets[t]);
        char *main_c;
        register_unikernel("tar", job("start", KV_RO, KV_RO), tar_kv_ro(block("data")),
                           tar_kv_ro(block_of_file("site.tar")));
        CHECK_INT(mirage_config_check(cfg), 0);
        main_c = gen(mirage_gen_main, cfg);
        CHECK(strstr(main_c, "r = mirage_block_connect(\"data\", &dev0);\n") != NULL);
        CHECK(strstr(main_c, "r = mirage_kv_tar_open(dev0, &dev1);\n") != NULL);
        CHECK(strstr(main_c, t == 0 ? "r = mirage_block_of_file(\"site.tar\", &dev2);\n"
                                    : "r = mirage_block_connect(\"site_tar\", &dev2);\n") != NULL);
        CHECK(strstr(main_c, "r = mirage_kv_tar_open(dev2, &dev3);\n") != NULL);
        CHECK(strstr(main_c, "\"kv_ro\", \"tar_kv_ro()\", r);") != NULL);
        CHECK(strstr(main_c, "r = start(dev1, dev3);") != NULL);
        CHECK(strstr(main_c, "    mirage_kv_disconnect(dev3);\n    mirage_block_disconnect(dev2);\n"
                             "    mirage_kv_disconnect(dev1);\n"
                             "    mirage_block_disconnect(dev0);\n") != NULL);
        free(main_c);
        mirage_config_free(cfg);
    }
    /* A tar archive is on a block device, not in a store. */
    {
        struct mirage_config *cfg = mirage_config_new("unix");
        int l = __LINE__ + 1;
        struct mirage_dev *bad = tar_kv_ro(kv_rw_mem());
        register_unikernel("tar", job("start", KV_RO), bad);
        mirage_config_check(cfg);
        CHECK(has_error(cfg, l, "expected block, given kv_rw_mem(), a kv_rw"));
        mirage_config_free(cfg);
    }
}

/* crunch, kv_rw_mem and ramdisk: built by main.c, crunch by the Makefile too. */
static void test_storage(void)
{
    struct mirage_config *cfg = mirage_config_new("hvt");
    struct mirage_dev *j = job("start", KV_RO, KV_RW, BLOCK, BLOCK);
    char *main_c, *start_h, *mk, *describe;
    struct gen_paths p = {.root = "/r", .build = "_build", .config_file = "config.c", .args = ""};

    /* The unit tests run at the repository's root: tests/e2e/tool is a directory. */
    register_unikernel("store", j, crunch("tests/e2e/tool"), kv_rw_mem(), ramdisk(1 << 20),
                       block_of_file("images/disk.img"));
    CHECK_INT(mirage_config_check(cfg), 0);
    main_c = gen(mirage_gen_main, cfg);
    start_h = gen(mirage_gen_start_h, cfg);
    describe = gen(mirage_gen_describe, cfg);
    {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        mirage_gen_makefile(cfg, &p, f);
        fclose(f);
        mk = text;
    }
    CHECK(strstr(start_h, "int start(struct mirage_kv *, struct mirage_kv *, struct mirage_block "
                          "*, struct mirage_block *);") != NULL);
    CHECK(strstr(main_c, "r = mirage_block_ramdisk_new(\"ramdisk\", 1048576ULL, 512, &dev2);") !=
          NULL);
    /* hvt: block_of_file is the platform device named after the file. */
    CHECK(strstr(main_c, "MIRAGE_MANIFEST(MIRAGE_BLOCK(\"disk_img\"));") != NULL);
    CHECK(strstr(main_c, "r = mirage_block_connect(\"disk_img\", &dev3);") != NULL);
    CHECK(strstr(describe, "block_of_file(\"images/disk.img\")") != NULL);
    CHECK(strstr(describe, "manifest 'disk_img'") != NULL);
    CHECK(strstr(start_h, "#include \"mirage/kv.h\"") != NULL);
    CHECK(strstr(main_c, "extern const struct mirage_crunch mirage_crunch_d0;") != NULL);
    CHECK(strstr(main_c, "r = mirage_kv_crunch_new(&mirage_crunch_d0, &dev0);") != NULL);
    CHECK(strstr(main_c, "return mirage_device_connect_failed(argv[0], \"kv_ro\", "
                         "\"crunch(\\\"tests/e2e/tool\\\")\", r);") != NULL);
    CHECK(strstr(main_c, "r = mirage_kv_mem_new(0, &dev1);") != NULL);
    CHECK(strstr(main_c, "r = start(dev0, dev1, dev2, dev3);") != NULL);
    CHECK(strstr(main_c, "    mirage_block_disconnect(dev3);\n    mirage_block_disconnect(dev2);\n"
                         "    mirage_kv_disconnect(dev1);\n"
                         "    mirage_kv_disconnect(dev0);\n    return r;") != NULL);
    CHECK(strstr(mk, " $(OBJDIR)/main.o $(OBJDIR)/crunch_d0.o\n") != NULL);
    CHECK(strstr(mk, "$(MIRAGE_ROOT)/build/bin/mirage crunch tests/e2e/tool $(BUILD)/crunch_d0 "
                     "mirage_crunch_d0") != NULL);
    CHECK(strstr(mk, "-include $(BUILD)/crunch_d0.d") != NULL);
    CHECK(strstr(describe, "crunch(\"tests/e2e/tool\")") != NULL);
    free(main_c);
    free(start_h);
    free(mk);
    free(describe);
    mirage_config_free(cfg);

    cfg = mirage_config_new("unix");
    {
        int l = __LINE__ + 1;
        struct mirage_dev *c1 = crunch("no-such-dir");
        struct mirage_dev *c2 = crunch("a b");
        struct mirage_dev *rd = ramdisk(1000);
        register_unikernel("bad", job("start", KV_RO, KV_RO, BLOCK), c1, c2, rd);
        mirage_config_check(cfg);
        CHECK(has_error(cfg, l, "crunch(\"no-such-dir\"): no such directory beside config.c"));
        CHECK(has_error(cfg, l + 1, "crunch(\"a b\"): a directory name of letters"));
        CHECK(has_error(cfg, l + 2,
                        "ramdisk(1000): the size is in bytes, a non-zero multiple of "
                        "512"));
    }
    mirage_config_free(cfg);

    /* unix: block_of_file is the file itself, in no manifest. */
    cfg = mirage_config_new("unix");
    {
        char *m;
        register_unikernel("f", job("start", BLOCK), block_of_file("disk.img"));
        CHECK_INT(mirage_config_check(cfg), 0);
        m = gen(mirage_gen_main, cfg);
        CHECK(strstr(m, "MIRAGE_MANIFEST();") != NULL);
        CHECK(strstr(m, "r = mirage_block_of_file(\"disk.img\", &dev0);") != NULL);
        CHECK(strstr(m, "return mirage_device_connect_failed(argv[0], \"block\", "
                        "\"block_of_file(\\\"disk.img\\\")\", r);") != NULL);
        free(m);
    }
    mirage_config_free(cfg);

    /* A read-only store is no kv_rw. */
    cfg = mirage_config_new("unix");
    {
        int l = __LINE__ + 1;
        register_unikernel("bad", job("start", KV_RW), crunch("tests"));
        mirage_config_check(cfg);
        CHECK(has_error(cfg, l, "expected kv_rw, given crunch(\"tests\"), a kv_ro"));
    }
    mirage_config_free(cfg);
}

static void test_not_implemented_and_misuse(void)
{
    struct mirage_config *cfg = mirage_config_new("unix");
    int l_kv = __LINE__ + 1;
    struct mirage_dev *kv = tar_kv_ro(block("disk"));
    struct mirage_dev *j = job("start", KV_RO);
    int l_key = __LINE__ + 1;
    runtime_key("port", "int", "the port", "80");

    job_argv(j);
    register_unikernel("kv", j, kv);
    mirage_config_check(cfg);
    CHECK(!has_error(cfg, l_kv, "not implemented"));
    CHECK(has_error(cfg, l_key, "runtime key --port: job(\"start\") takes argv"));
    mirage_config_free(cfg);

    cfg = mirage_config_new("unix");
    CHECK_INT(mirage_config_check(cfg), 1);
    CHECK(strstr(cfg->errs[0], "register_unikernel() is never called") != NULL);
    mirage_config_free(cfg);

    cfg = mirage_config_new("unix");
    {
        int l_job = __LINE__ + 1;
        struct mirage_dev *m = job("main");
        int l_rt = __LINE__ + 1;
        runtime_key("x", "float", "", NULL);
        register_unikernel("two words", m);
        CHECK(has_error(cfg, l_job, "the start function must be a C name other than main"));
        CHECK(has_error(cfg, l_rt, "type \"float\" is not one of"));
        CHECK(has_error(cfg, l_rt + 1, "a unikernel name is letters, digits, '-' and '_'"));
    }
    mirage_config_free(cfg);
}

static void test_runtime_keys_generated(void)
{
    struct mirage_config *cfg = mirage_config_new("unix");
    char *main_c, *start_h;

    runtime_key("hello", "string", "what to say, \"quoted\"", "Hello World!");
    runtime_key("times", "int", "how often", "4");
    register_unikernel("hello", job("start"));
    CHECK_INT(mirage_config_check(cfg), 0);
    main_c = gen(mirage_gen_main, cfg);
    start_h = gen(mirage_gen_start_h, cfg);
    CHECK(strstr(main_c, "struct mirage_key key_hello = {.name = \"hello\", .type = "
                         "MIRAGE_KEY_STRING, .def = \"Hello World!\", .doc = \"what to say, "
                         "\\\"quoted\\\"\"};") != NULL);
    CHECK(strstr(main_c, ".min = INT64_MIN, .max = INT64_MAX};") != NULL);
    CHECK(strstr(main_c, "keys[] = {&key_hello, &key_times, NULL};") != NULL);
    CHECK(strstr(main_c, "return start();") != NULL);
    CHECK(strstr(start_h, "extern struct mirage_key key_hello;") != NULL);
    CHECK(strstr(start_h, "int start(void);") != NULL);
    free(main_c);
    free(start_h);
    mirage_config_free(cfg);
}

/* runtime_key_int's bounds and standard_key's runtime-owned keys reach main.c; bad ones are
 * refused at the line that declares them. */
static void test_ranged_and_standard_keys(void)
{
    struct mirage_config *cfg = mirage_config_new("spt");
    char *main_c, *start_h, *describe;
    int l_bad_range, l_bad_std, l_twice;

    runtime_key_int("port", "a TCP port", "8080", 0, 65535);
    standard_key("ipv4");
    standard_key("ipv6-gateway");
    l_bad_range = __LINE__ + 1;
    runtime_key_int("nope", "backwards", NULL, 5, 1);
    l_bad_std = __LINE__ + 1;
    standard_key("ipv5");
    l_twice = __LINE__ + 1;
    standard_key("ipv4");
    register_unikernel("keys", job("start"));
    CHECK_INT(mirage_config_check(cfg), 3);
    CHECK(has_error(cfg, l_bad_range, "runtime key \"nope\": min 5 is above max 1"));
    CHECK(has_error(cfg, l_bad_std, "standard_key(\"ipv5\"): not a standard key"));
    CHECK(has_error(cfg, l_twice, "key --ipv4 is declared twice"));
    main_c = gen(mirage_gen_main, cfg);
    start_h = gen(mirage_gen_start_h, cfg);
    describe = gen(mirage_gen_describe, cfg);
    CHECK(strstr(main_c,
                 "struct mirage_key key_port = {.name = \"port\", .type = MIRAGE_KEY_INT, "
                 ".def = \"8080\", .doc = \"a TCP port\", .min = 0LL, .max = 65535LL};") != NULL);
    CHECK(strstr(main_c, "keys[] = {&key_port, &mirage_key_ipv4, &mirage_key_ipv6_gateway, "
                         "NULL};") != NULL);
    CHECK(strstr(main_c, "struct mirage_key mirage_key_ipv4") == NULL); /* the runtime's */
    CHECK(strstr(start_h, "extern struct mirage_key key_port;") != NULL);
    CHECK(strstr(start_h, "mirage_key_ipv4") == NULL); /* key.h declares it */
    CHECK(strstr(describe, "--ipv4=ipv4_prefix (default 10.0.0.2/24)") != NULL);
    free(main_c);
    free(start_h);
    free(describe);
    mirage_config_free(cfg);
}

/* The stacks: which one generic_stackv4v6 picks per target and --net, DHCP or
 * static, and what main.c makes of them. */
static void test_stacks(void)
{
    struct mirage_config *cfg = mirage_config_new("unix");
    struct mirage_dev *s;
    char *main_c, *start_h, *man;

    /* unix: the socket stack by default, with no network device in the manifest. */
    s = generic_stackv4v6(default_network());
    register_unikernel("web", job("start", STACKV4V6), s);
    CHECK_INT(mirage_config_check(cfg), 0);
    CHECK_INT(cfg->norder, 1);
    CHECK(s->kind == DEV_STACK && s->stack_socket);
    main_c = gen(mirage_gen_main, cfg);
    start_h = gen(mirage_gen_start_h, cfg);
    man = gen(mirage_gen_manifest, cfg);
    CHECK_STR(man, "");
    CHECK(strstr(main_c, "MIRAGE_MANIFEST();") != NULL);
    CHECK(strstr(main_c, "mirage_key_ipv4.def = \"0.0.0.0/0\";") != NULL);
    /* Both families by default, every host address of each; or one only. */
    CHECK(strstr(main_c, "mirage_key_ipv6.def = \"::/0\";") != NULL);
    CHECK(strstr(main_c, "keys[] = {&mirage_key_ipv4, &mirage_key_ipv4_gateway, "
                         "&mirage_key_syslog, &mirage_key_syslog_hostname, "
                         "&mirage_key_syslog_transport, &mirage_key_monitor, "
                         "&mirage_key_monitor_interval, &mirage_key_ipv6, "
                         "&mirage_key_ipv4_only, &mirage_key_ipv6_only, NULL};") != NULL);
    CHECK(strstr(main_c, "r = mirage_stack_socket_new(&sc, &dev0);") != NULL);
    /* The syslog keys are checked before any device comes up; the reporter
     * starts over the first stack and its queue drains before the stack goes. */
    CHECK(strstr(main_c, "r = mirage_syslog_check_keys(argv[0]);") != NULL);
    CHECK(strstr(main_c, "r = mirage_syslog_check_keys(argv[0]);") <
          strstr(main_c, "mirage_stack_socket_new"));
    CHECK(strstr(main_c, "mirage_syslog_from_keys(dev0, \"web\");") != NULL);
    CHECK(strstr(main_c, "r = mirage_monitor_check_keys(argv[0]);") != NULL);
    CHECK(strstr(main_c, "mirage_monitor_from_keys(dev0, \"web\");") != NULL);
    CHECK(strstr(main_c, "mirage_monitor_stop();") != NULL);
    CHECK(strstr(main_c, "mirage_syslog_stop(mirage_deadline_in(MIRAGE_SEC(2)));") <
          strstr(main_c, "mirage_stack_disconnect(dev0);"));
    /* The stack goes after start returns, before the exit status does. */
    CHECK(strstr(main_c, "r = start(dev0);\n") != NULL);
    CHECK(strstr(main_c, "mirage_stack_disconnect(dev0);\n    return r;\n}") != NULL);
    CHECK(strstr(start_h, "#include \"mirage/stack.h\"") != NULL);
    CHECK(strstr(start_h, "int start(struct mirage_stack *);") != NULL);
    free(main_c);
    free(start_h);
    free(man);
    mirage_config_free(cfg);

    /* unix --net=direct: the direct stack on tap0, by DHCP. */
    cfg = mirage_config_new("unix");
    CHECK_INT(mirage_config_option(cfg, "--net=direct"), 0);
    s = generic_stackv4v6(default_network());
    register_unikernel("web", job("start", STACKV4V6), s);
    CHECK_INT(mirage_config_check(cfg), 0);
    CHECK(!s->stack_socket && s->stack_dhcp);
    main_c = gen(mirage_gen_main, cfg);
    CHECK(strstr(main_c, "MIRAGE_MANIFEST(MIRAGE_NET(\"tap0\"));") != NULL);
    CHECK(strstr(main_c, "mirage_stack_config_from_keys(&sc, 1);") != NULL);
    CHECK(strstr(main_c, "r = mirage_stack_direct_new(&dev0, &sc, &dev1);") != NULL);
    /* By DHCP, --ipv4 has no default (help says the lease gives it) and the
     * wait for the lease is bounded by --dhcp-timeout, with its own status. */
    CHECK(strstr(main_c, "mirage_key_ipv4.def = NULL;") != NULL);
    CHECK(strstr(main_c, "10.0.0.2/24") == NULL);
    CHECK(strstr(main_c, "&mirage_key_dhcp_timeout") != NULL);
    CHECK(strstr(main_c, "if (r == MIRAGE_ETIMEDOUT && sc.dhcp)\n"
                         "            return mirage_stack_no_lease(argv[0]);") != NULL);
    /* The helpers are library calls (lib/runtime/device.c, lib/net/stack_keys.c): main.c
     * defines no function of its own but mirage_main. */
    CHECK(strstr(main_c, "static int ") == NULL);
    CHECK(strstr(main_c, "static void ") == NULL);
    CHECK(strstr(main_c, "r = start(dev1);\n") != NULL);
    CHECK(strstr(main_c, "mirage_stack_disconnect(dev1);\n    return r;\n}") != NULL);
    free(main_c);
    mirage_config_free(cfg);

    /* hvt: always direct; --ipv4 at configure time is a static address and
     * becomes the boot key's default; config.c's own standard_key is shared. */
    cfg = mirage_config_new("hvt");
    CHECK_INT(mirage_config_option(cfg, "--ipv4=10.1.2.3/16"), 0);
    CHECK_INT(mirage_config_option(cfg, "--ipv4-gateway=10.1.0.1"), 0);
    standard_key("ipv4");
    s = generic_stackv4v6(default_network());
    register_unikernel("web", job("start", STACKV4V6), s);
    CHECK_INT(mirage_config_check(cfg), 0);
    CHECK(!s->stack_socket && !s->stack_dhcp);
    main_c = gen(mirage_gen_main, cfg);
    CHECK(strstr(main_c, "MIRAGE_MANIFEST(MIRAGE_NET(\"service\"));") != NULL);
    CHECK(strstr(main_c, "mirage_key_ipv4.def = \"10.1.2.3/16\";") != NULL);
    CHECK(strstr(main_c, "mirage_key_ipv4_gateway.def = \"10.1.0.1\";") != NULL);
    CHECK(strstr(main_c, "mirage_stack_config_from_keys(&sc, 0);") != NULL);
    free(main_c);
    mirage_config_free(cfg);

    /* --no-dhcp; bad addresses; the socket stack off unix. */
    cfg = mirage_config_new("spt");
    CHECK_INT(mirage_config_option(cfg, "--no-dhcp"), 0);
    s = direct_stackv4v6(netif("service"));
    register_unikernel("web", job("start", STACKV4V6), s);
    CHECK_INT(mirage_config_check(cfg), 0);
    CHECK(!s->stack_dhcp);
    mirage_config_free(cfg);

    cfg = mirage_config_new("spt");
    CHECK_INT(mirage_config_option(cfg, "--ipv4=10.0.0.300/24"), 0);
    CHECK_INT(mirage_config_option(cfg, "--ipv4-gateway=10.0.0.1/24"), 0);
    {
        int l = __LINE__ + 1;
        s = socket_stackv4v6();
        register_unikernel("web", job("start", STACKV4V6), s);
        mirage_config_check(cfg);
        CHECK(has_error(cfg, l,
                        "--ipv4=10.0.0.300/24: '10.0.0.300' is not an IPv4 address (a number is "
                        "over 255) (expected A.B.C.D/PREFIX)"));
        CHECK(has_error(cfg, l,
                        "--ipv4-gateway=10.0.0.1/24: '10.0.0.1/24' is not an IPv4 address (text "
                        "after the fourth number) (expected A.B.C.D)"));
        CHECK(has_error(cfg, l, "socket_stackv4v6: the socket stack needs host sockets"));
    }
    mirage_config_free(cfg);
}

/* The same texts through both sides: configure (a runtime key's default, or
 * --ipv4 given to configure) and the boot-key parser main.c runs at every
 * boot. Each row also says what both must answer, so agreement on a wrong
 * answer fails too. */
static const struct {
    const char *type;
    long long min, max; /* int only; min > max: unranged */
    const char *text;
    int ok;
} same_texts[] = {
    {"ipv4_prefix", 1, 0, "10.0.0.2/24", 1},
    {"ipv4_prefix", 1, 0, "0.0.0.0/0", 1},
    {"ipv4_prefix", 1, 0, "255.255.255.255/32", 1},
    {"ipv4_prefix", 1, 0, "10.0.0.2", 0},      /* no prefix */
    {"ipv4_prefix", 1, 0, "010.0.0.2/24", 0},  /* leading zero */
    {"ipv4_prefix", 1, 0, "10.0.0.02/24", 0},  /* leading zero */
    {"ipv4_prefix", 1, 0, "10.0.0.2/024", 0},  /* leading zero in the length */
    {"ipv4_prefix", 1, 0, "10.0.0.2/33", 0},   /* prefix > 32 */
    {"ipv4_prefix", 1, 0, "10.0.0.2/24x", 0},  /* trailing junk */
    {"ipv4_prefix", 1, 0, "10.0.0.2/24 ", 0},  /* trailing space */
    {"ipv4_prefix", 1, 0, "10.0.0.2/", 0},     /* empty length */
    {"ipv4_prefix", 1, 0, "10.0.0.2/-1", 0},   /* signed length */
    {"ipv4_prefix", 1, 0, "", 0},              /* empty */
    {"ipv4_prefix", 1, 0, "10.0.0.256/24", 0}, /* over 255 */
    {"ipv4_prefix", 1, 0, "10.0.0/24", 0},     /* three parts */
    {"ipv4_prefix", 1, 0, "1.2.3.4.5/6", 0},   /* five parts */
    {"ipv4", 1, 0, "10.0.0.1", 1},
    {"ipv4", 1, 0, "10.0.0.1/24", 0},
    {"ipv4", 1, 0, "010.0.0.1", 0},
    {"ipv4", 1, 0, "10.0.0.1x", 0},
    {"ipv4", 1, 0, "", 0},
    {"ipv6_prefix", 1, 0, "fc00::2/64", 1},
    {"ipv6_prefix", 1, 0, "fc00::2/129", 0},
    {"ipv6_prefix", 1, 0, "fc00::2", 0},
    {"ipv6", 1, 0, "::ffff:10.0.0.1", 1},
    {"ipv6", 1, 0, "1::2::3", 0},
    {"mac", 1, 0, "02:00:00:00:00:01", 1},
    {"mac", 1, 0, "02:00:00:AB:cd:ef", 1},
    {"mac", 1, 0, "02:00:00:00:00:1", 0},
    {"mac", 1, 0, "02-00-00-00-00-01", 0},
    {"mac", 1, 0, "02:00:00:00:00:01:", 0},
    {"mac", 1, 0, "", 0},
    {"int", 1, 100000, "1", 1},
    {"int", 1, 100000, "100000", 1},
    {"int", 1, 100000, "0", 0}, /* the max-keys */
    {"int", 1, 100000, "100001", 0},
    {"int", 1, 0, "-9223372036854775808", 1},
    {"int", 1, 0, "9223372036854775808", 0}, /* past 64 bits */
    {"int", 1, 0, "12x", 0},
    {"int", 1, 0, "", 0},
    {"int", 1, 0, "1 ", 0},
    {"bool", 1, 0, "true", 1},
    {"bool", 1, 0, "OFF", 1},
    {"bool", 1, 0, "0", 1},
    {"bool", 1, 0, "maybe", 0},
    {"bool", 1, 0, "", 0},
    {"bool", 1, 0, "truex", 0},
    {"string", 1, 0, "", 1},
    {"list", 1, 0, "a,b", 1},
    {"duration", 1, 0, "250ms", 1},
    {"duration", 1, 0, "0s", 1},
    {"duration", 1, 0, "2h", 1},
    {"duration", 1, 0, "5", 0},    /* no unit */
    {"duration", 1, 0, "-5s", 0},  /* a sign */
    {"duration", 1, 0, "5 s", 0},  /* a space */
    {"duration", 1, 0, "1.5s", 0}, /* not a whole count */
    {"duration", 1, 0, "5sec", 0},
    {"duration", 1, 0, "9223372037s", 0}, /* past 64 bits of ns */
    {"duration", 1, 0, "", 0},
};

static int boot_accepts(const char *type, long long min, long long max, const char *text)
{
    static const char *const names[] = {"string", "int",         "bool", "ipv4", "ipv4_prefix",
                                        "ipv6",   "ipv6_prefix", "mac",  "list", "duration"};
    struct mirage_key k = {.name = "k", .min = min, .max = max};
    union mirage_key_value v;
    void *mem = NULL;
    char err[200];
    int r;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(type, names[i]) == 0)
            k.type = (enum mirage_key_type)i; /* key.h's order */
    r = mirage_key_parse_value(&k, text, &v, &mem, err, sizeof(err));
    free(mem);
    return r == 0;
}

static void test_configure_accepts_what_boots(void)
{
    for (size_t i = 0; i < sizeof(same_texts) / sizeof(same_texts[0]); i++) {
        const char *type = same_texts[i].type, *text = same_texts[i].text;
        long long min = same_texts[i].min, max = same_texts[i].max;
        int ranged = min <= max, boot, configure;
        struct mirage_config *cfg = mirage_config_new("spt");
        int l;
        if (ranged) {
            l = __LINE__ + 1;
            runtime_key_int("k", "a key", text, min, max);
        } else {
            l = __LINE__ + 1;
            runtime_key("k", type, "a key", text);
        }
        register_unikernel("t", job("start"));
        configure = mirage_config_check(cfg) == 0;
        boot = boot_accepts(type,
                            ranged                          ? min
                            : strcmp(type, "duration") == 0 ? 0
                                                            : INT64_MIN,
                            ranged ? max : INT64_MAX, text);
        if (configure != boot || boot != same_texts[i].ok)
            fprintf(stderr, "  row %zu: %s '%s': configure %d, boot %d, expected %d\n", i, type,
                    text, configure, boot, same_texts[i].ok);
        CHECK_INT(configure, same_texts[i].ok);
        CHECK_INT(boot, same_texts[i].ok);
        if (!configure)
            CHECK(has_error(cfg, l, "runtime key --k: the default is not a valid "));
        mirage_config_free(cfg);

        /* --ipv4 and --ipv4-gateway given to configure become the defaults of
         * the standard keys, ipv4_prefix and ipv4: the same rows again. */
        if (strcmp(type, "ipv4_prefix") != 0 && strcmp(type, "ipv4") != 0)
            continue;
        char opt[128];
        int prefix = strcmp(type, "ipv4_prefix") == 0;
        snprintf(opt, sizeof(opt), "--%s=%s", prefix ? "ipv4" : "ipv4-gateway", text);
        cfg = mirage_config_new("spt");
        CHECK_INT(mirage_config_option(cfg, opt), 0);
        l = __LINE__ + 1;
        struct mirage_dev *st = direct_stackv4v6(netif("service"));
        register_unikernel("t", job("start", STACKV4V6), st);
        configure = mirage_config_check(cfg) == 0;
        CHECK_INT(configure, same_texts[i].ok);
        if (!configure)
            CHECK(has_error(cfg, l, opt));
        mirage_config_free(cfg);
    }

    /* A standard key's default set by configure is checked the same way. */
    struct mirage_config *cfg = mirage_config_new("spt");
    runtime_key_int("max-keys", "How many keys.", "7", 1, 100000);
    register_unikernel("t", job("start"));
    CHECK_INT(mirage_config_check(cfg), 0);
    mirage_config_free(cfg);
}

int main(void)
{
    test_good_graph("unix", "tap0");
    test_good_graph("hvt", "service");
    test_good_graph("spt", "service");
    test_signature_mismatch();
    test_constructor_mismatch();
    test_arity();
    test_two_randoms();
    test_random_device();
    test_cycle();
    test_names_and_options();
    test_storage();
    test_tar();
    test_kv_disk();
    test_not_implemented_and_misuse();
    test_runtime_keys_generated();
    test_ranged_and_standard_keys();
    test_stacks();
    test_configure_accepts_what_boots();
    return CHECK_DONE();
}
