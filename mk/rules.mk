# rules.mk: how each kind of object is compiled; objects mirror the source tree under build/.

$(B)/host/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/unix/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(UNIX_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/guest/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/unix/%.o: %.S
	@mkdir -p $(@D)
	$(Q)$(CC) $(UNIX_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/asan/%.o: %.S
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/fuzz/%.o: %.S
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/guest/%.o: %.S
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) $(DEPFLAGS) -c $< -o $@

# $(call objs,FLAVOUR,SOURCES): the objects of SOURCES in FLAVOUR.
objs = $(patsubst %,$(B)/$(1)/%.o,$(basename $(2)))

# $(call archive,OUT,OBJECTS): OUT is an archive of OBJECTS.
define archive
$(1): $(2)
	@mkdir -p $$(@D)
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^
endef

# $(call unikernel,NAME,SOURCES): builds $(B)/uk/NAME (unix), NAME.spt, NAME.hvt and NAME.virtio
# from the application SOURCES, linked with each target's libraries.
define unikernel
$(B)/uk/$(1): $(call objs,unix,$(2)) $(UNIX_LIB)
	@mkdir -p $$(@D)
	$$(Q)$$(call link_unix,$$@,$$^)
$(B)/uk/$(1).spt: $(call objs,guest,$(2)) $(SPT_LIB) $(LIBC) platform/spt/spt.ld
	@mkdir -p $$(@D)
	$$(Q)$$(call link_guest,$$@,platform/spt/spt.ld,$(call objs,guest,$(2)),$(SPT_LIB) $(LIBC))
$(B)/uk/$(1).hvt: $(call objs,guest,$(2)) $(HVT_LIB) $(LIBC) platform/hvt/hvt.ld
	@mkdir -p $$(@D)
	$$(Q)$$(call link_guest,$$@,platform/hvt/hvt.ld,$(call objs,guest,$(2)),$(HVT_LIB) $(LIBC))
$(B)/uk/$(1).virtio: $(call objs,guest,$(2)) $(VIRTIO_LIB) $(LIBC) platform/virtio/virtio.ld
	@mkdir -p $$(@D)
	$$(Q)$$(call link_guest,$$@,platform/virtio/virtio.ld,$(call objs,guest,$(2)),$(VIRTIO_LIB) $(LIBC))
UNIKERNELS += $(B)/uk/$(1) $(B)/uk/$(1).spt $(B)/uk/$(1).hvt $(B)/uk/$(1).virtio
endef
