# lib/module.mk: the portable OS libraries, one folder per concern, built for every target.
LIB_SRCS := $(sort $(wildcard lib/*/*.c lib/*/*.S))
# The one parser per key format (addresses, prefixes, MACs, ranged integers,
# booleans): also built for the host into the mirage tool's configuration
# library and the tenders, so what configure and the tenders accept boots.
KEY_PARSE_SRCS := lib/runtime/key_parse.c
# BearSSL's headers, for library code that uses its primitives (the runtime's
# generator, TLS): only that directory, so no other host header leaks into guests.
$(call objs,guest,$(LIB_SRCS)): GUEST_CFLAGS += -isystem /usr/include/bearssl
