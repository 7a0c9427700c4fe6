# examples/module.mk: every example, configured and built by the mirage tool for unix, spt, hvt and virtio.
#
# Each (example, target) pair is built in a directory of its own, build/examples/TARGET/NAME,
# whose entries are links to the example's files: `mirage configure -t TARGET` and `mirage
# build` run there, as a user runs them in a copy of the example, so parallel builds share
# nothing and examples/ stays clean. The result is copied to build/uk/NAME, NAME.spt,
# NAME.hvt and NAME.virtio, where the tests and benchmarks find it.
#
# A new example is one line below: $(eval $(call example,NAME,DIR[,CONFIGURE KEYS])).

MIRAGE := $(B)/bin/mirage
DEMOCERT := $(B)/democert
EXAMPLE_TARGETS := unix spt hvt virtio
EXAMPLE_SUFFIX_unix :=
EXAMPLE_SUFFIX_spt := .spt
EXAMPLE_SUFFIX_hvt := .hvt
EXAMPLE_SUFFIX_virtio := .virtio
# What the unikernel's own Makefile links for each target.
EXAMPLE_LIBS_unix := $(UNIX_LIB)
EXAMPLE_LIBS_spt := $(SPT_LIB) $(LIBC) platform/spt/spt.ld
EXAMPLE_LIBS_hvt := $(HVT_LIB) $(LIBC) platform/hvt/hvt.ld
EXAMPLE_LIBS_virtio := $(VIRTIO_LIB) $(LIBC) platform/virtio/virtio.ld
# A changed header builds the examples again; their own make decides what to recompile.
EXAMPLE_HEADERS := $(wildcard include/mirage/*.h libc/include/*.h libc/include/*/*.h)
# What configure and build write into a unikernel's directory: never linked into a build one.
EXAMPLE_OUTPUTS := Makefile _build dist compile_commands.json

# $(call example_files,DIR): the example's own files; example_deps: those and everything under
# its directories (a crunched directory's files: a change there builds the example again).
example_files = $(filter-out $(addprefix $(1)/,$(EXAMPLE_OUTPUTS)),$(wildcard $(1)/*))
example_deps = $(shell find $(1) -mindepth 1 \( -name Makefile -o -name _build -o -name dist -o \
	-name compile_commands.json \) -prune -o -print)

# The recipe shared by every example; EX_NAME, EX_DIR, EX_TARGET and EX_KEYS are set per target.
# The tool's own make runs without this make's flags (its jobserver, V=1): mirage build gets
# --verbose instead. Its output is kept in the log and shown when something fails.
define example_recipe
@d=$(B)/examples/$(EX_TARGET)/$(EX_NAME); mkdir -p $$d $(@D) && \
	find $$d -maxdepth 1 -type l -delete && \
	for f in $(call example_files,$(EX_DIR)); do ln -s "$(CURDIR)/$$f" $$d/; done && \
	for f in $(EX_LINKS); do ln -s "$(CURDIR)/$$f" $$d/; done && \
	{ MAKEFLAGS= MFLAGS= MAKELEVEL= $(MIRAGE) configure -f $$d/config.c -t $(EX_TARGET) \
		--no-depext $(EX_KEYS) && \
	  MAKEFLAGS= MFLAGS= MAKELEVEL= $(MIRAGE) build -f $$d/config.c $(if $(V),--verbose); \
	} >$$d/log 2>&1 || { cat $$d/log >&2; echo "example $(EX_NAME) failed on $(EX_TARGET)" >&2; \
		exit 1; } ; \
	$(if $(V),cat $$d/log;) cp -f $$d/dist/$(EX_NAME)$(EXAMPLE_SUFFIX_$(EX_TARGET)) $@
endef

# $(call example_in,NAME,DIR,KEYS,TARGET)
define example_in
$(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(4)): EX_NAME := $(1)
$(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(4)): EX_DIR := $(2)
$(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(4)): EX_KEYS := $(3)
$(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(4)): EX_TARGET := $(4)
$(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(4)): $(MIRAGE) $(CONFIG_LIB) $(EXAMPLE_LIBS_$(4)) \
		$(EXAMPLE_HEADERS) $(call example_deps,$(2)) examples/module.mk
	$$(example_recipe)
ALL += $(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(4))
UNIKERNELS += $(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(4))
endef

# $(call example_links,NAME,PATHS,PREREQUISITES): more entries (made by make) linked into
# NAME's build directories beside the example's own files.
example_links = $(foreach t,$(EXAMPLE_TARGETS),$(eval $(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(t)): \
	EX_LINKS := $(2))$(eval $(B)/uk/$(1)$(EXAMPLE_SUFFIX_$(t)): $(3)))

# $(call example,NAME,DIR[,KEYS]): NAME from the config.c in DIR, configured with KEYS.
example = $(foreach t,$(EXAMPLE_TARGETS),$(eval $(call example_in,$(1),$(2),$(3),$(t))))

$(call example,hello,examples/hello)
$(call example,ping,examples/ping)
$(call example,ping2,examples/ping,--two)
# The runtime's tutorial examples (lib/runtime).
$(call example,noop,examples/noop)
$(call example,hello-log,examples/hello-log)
$(call example,hello-key,examples/hello-key)
$(call example,heads,examples/heads)
$(call example,timeout,examples/timeout)
$(call example,clock,examples/clock)
$(call example,keys,examples/keys)
# The runtime's generator as a device (default_random()): start() draws from it.
$(call example,random,examples/random)
# The IPv4 layers wired by hand (lib/net): UDP echo and ping, tests/e2e/ipv4.bats.
$(call example,udp-echo,examples/udp-echo)
# The TCP/IP stack (lib/net's direct stack everywhere, unix too): TCP and UDP echo.
$(call example,stack-echo,examples/stack-echo,--net=direct)
# HTTP/1.1 (lib/http): the client fetching a URL (https:// checked against the demo CA, linked
# as its ca/ store), and the static website serving a store.
$(call example,http-fetch,examples/http-fetch,--net=direct)
$(call example_links,http-fetch,$(DEMOCERT)/ca,$(DEMOCERT)/tls/default/cert.pem)
# TLS over the stack (lib/tls): an echo server with SNI and ALPN, and a client; tests/e2e/tls.bats.
$(call example,tls-echo,examples/tls-echo,--net=direct)
# Storage (lib/kv, lib/block): a crunched directory read as a kv_ro store.
$(call example,kv-ro,examples/kv-ro)
# DNS (lib/dns): the authoritative primary for the zone files crunched from zones/; dns.bats.
$(call example,dns-primary,examples/dns-primary,--net=direct)
# ... its secondary (zone transfers from a primary; dns_secondary.bats) and a caching stub
# resolver forwarding to --dns-servers (dns_stub.bats).
$(call example,dns-secondary,examples/dns-secondary,--net=direct)
$(call example,dns-stub,examples/dns-stub,--net=direct)
# The static website serves htdocs/ over HTTP, and over HTTPS (--tls=true) with the demo
# certificate a local CA signs at build time (mk/democert.sh; trust $(B)/democert/ca.pem).
$(DEMOCERT)/tls/default/cert.pem: mk/democert.sh
	$(Q)mk/democert.sh $(DEMOCERT)
$(call example,static_website,examples/static_website,--net=direct)
$(call example_links,static_website,$(DEMOCERT)/tls,$(DEMOCERT)/tls/default/cert.pem)
# Its stores (configure --store=tar, the default): the demo site and the certificates as GNU tar
# images, attached as the block devices htdocs and tls (make run, http.bats).
SITE_TAR := tar --sort=name --owner=0 --group=0 --numeric-owner --format=gnu
$(B)/site/htdocs.tar: $(call example_deps,examples/static_website/htdocs)
	@mkdir -p $(@D)
	$(Q)$(SITE_TAR) -C examples/static_website/htdocs -cf $@ .
$(B)/site/tls.tar: $(DEMOCERT)/tls/default/cert.pem
	@mkdir -p $(@D)
	$(Q)$(SITE_TAR) -C $(DEMOCERT)/tls -cf $@ .
ALL += $(B)/site/htdocs.tar $(B)/site/tls.tar
# Storage: sector patterns through block.h on the platform block device "storage".
$(call example,block,examples/block)
# notes: a persistent notes service over TCP in kv_rw_disk.
$(call example,notes,examples/notes,--net=direct)
