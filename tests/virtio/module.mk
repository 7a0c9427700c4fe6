# tests/virtio/module.mk: the .virtio builds of the target-neutral test unikernels that
# tests/e2e/virtio.bats boots under QEMU.
ALL += $(B)/uk/fault.virtio $(B)/uk/blocktest.virtio
