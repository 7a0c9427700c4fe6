# Makefile: builds the libraries, bindings, tenders, tools, examples and tests into build/.
# `make` builds everything; `make test` runs the whole suite; `make run` boots the showcase.
# V=1 shows every command.

.DEFAULT_GOAL := all
Q := $(if $(V),,@)

include mk/config.mk
include mk/rules.mk

# Each module.mk adds its sources, outputs and test steps; order matters only
# where a later fragment links what an earlier one defines.
include lib/module.mk
include libc/module.mk
include platform/module.mk
include platform/solo5/module.mk
include tender/module.mk
include tool/module.mk
include examples/module.mk
include bench/module.mk
include tests/hvt/module.mk
include tests/spt/module.mk
include tests/virtio/module.mk
include tests/net/module.mk
include tests/kv/module.mk
include tests/module.mk

all: $(ALL)

# Installs the Debian packages the build, tests and benchmarks need (once).
deps:
	$(Q)mk/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc) all
	$(Q)mk/run.sh

test: deps
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc) all
	$(Q)tests/run.sh

clean:
	rm -rf $(B)

.PHONY: all deps run test clean
.DELETE_ON_ERROR:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
