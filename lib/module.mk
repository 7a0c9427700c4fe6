# lib/module.mk: the portable OS libraries, one folder per concern, built for every target.
LIB_SRCS := $(sort $(wildcard lib/*/*.c lib/*/*.S))
# BearSSL's headers, for library code that uses its primitives (the runtime's
# generator, TLS): only that directory, so no other host header leaks into guests.
$(call objs,guest,$(LIB_SRCS)): GUEST_CFLAGS += -isystem /usr/include/bearssl
