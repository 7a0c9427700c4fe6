# lib/module.mk: the portable OS libraries, one folder per concern, built for every target.
LIB_SRCS := $(sort $(wildcard lib/*/*.c))
