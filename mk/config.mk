# config.mk: toolchains and flags for every kind of object the build makes, and the one link recipe.

B := build
CC := gcc
AR := ar
CLANG := clang

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wwrite-strings
DEPFLAGS = -MMD -MP

# Host programs: tenders, the mirage tool, unit tests.
HOST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Iinclude -Itender/common -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -fPIE
HOST_LDFLAGS := -pie -Wl,-z,relro,-z,now

# The unix target: libraries and the unix binding, linked with the host libc.
UNIX_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Iinclude -fstack-protector-strong

# Unit tests: the unix flavour under AddressSanitizer and UBSan.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_CFLAGS := -std=gnu11 -O1 -g $(WARN) -Iinclude -Itender/common $(ASAN_FLAGS)

# Fuzz targets: clang's libFuzzer with ASan and UBSan.
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude -Itender/common \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined

# Guests (spt and hvt): freestanding, our libc, linked static at a fixed address.
GCC_INCLUDE := $(shell $(CC) -print-file-name=include)
LIBGCC := $(shell $(CC) -print-libgcc-file-name)
GUEST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-pie -fno-pic -fno-plt \
	-fstack-protector-strong -fno-asynchronous-unwind-tables -ffunction-sections \
	-fdata-sections -nostdinc -isystem libc/include -isystem $(GCC_INCLUDE) -Iinclude
GUEST_LDFLAGS := -Wl,-u,_start -nostdlib -static -no-pie -Wl,--gc-sections -Wl,-z,noexecstack \
	-Wl,-z,max-page-size=0x1000 -Wl,--build-id=none

# BearSSL's static library, linked into spt and hvt images (--gc-sections keeps only what is used).
BEARSSL_LIB := /usr/lib/x86_64-linux-gnu/libbearssl.a
# The unix target links the host's shared BearSSL (generated unikernel Makefiles use it too).
UNIX_LDLIBS := -lbearssl

# The one link recipe for unikernels, used by mk/rules.mk, the Solo5 programs
# (platform/solo5/module.mk) and the Makefiles `mirage configure` writes, so a
# library added here is linked the same way everywhere.
# $(call link_unix,OUT,INPUTS,LDLIBS): a host executable; INPUTS end with the unix library.
link_unix = $(CC) -o $(1) $(2) $(UNIX_LDLIBS) $(3)
# $(call link_guest,OUT,LDSCRIPT,OBJECTS,ARCHIVES,LDLIBS): a static spt, hvt or virtio image at
# the script's addresses; the ARCHIVES (the target's library, our libc), BearSSL,
# libgcc and the application's LDLIBS resolve one another in one group.
link_guest = $(CC) $(GUEST_LDFLAGS) -T $(2) -o $(1) $(3) \
	-Wl,--start-group $(4) $(BEARSSL_LIB) $(LIBGCC) $(5) -Wl,--end-group
