runtime_printf_SRCS = runtime/lib/printf.c
# the bootloader's libfdt: the test writes blobs with fdt_sw as the bootloader does
runtime_bootinfo_SRCS = runtime/kernel/bootinfo.c runtime/lib/printf.c $(COMPONENT_bootloader-libfdt)
$(OUT)/runtime_bootinfo: CFLAGS += -DUNICYCLE_HOST_TEST
net_http_SRCS = runtime/net/http_server.c $(COMPONENT_http-parser)
$(OUT)/net_http: CFLAGS += $(COMPONENT_http-parser_INCLUDES)
net_addr_SRCS = runtime/net/netaddr.c
bootloader_elf_SRCS = bootloader/elf.c
bootloader_sha256_SRCS = bootloader/sha256.c
bootloader_filesize_SRCS = bootloader/filesize.c
bootloader_bootcfg_SRCS = bootloader/bootcfg.c bootloader/kvfile.c
runtime_mem_SRCS = runtime/kernel/buddy.c runtime/lib/heap.c
bootloader_fdtbuild_SRCS = bootloader/fdtbuild.c $(COMPONENT_bootloader-libfdt)
runtime_acpi_SRCS = runtime/kernel/acpi.c
$(OUT)/runtime_acpi: CFLAGS += -DUNICYCLE_HOST_TEST
net_frame_SRCS = runtime/net/netframe.c
bootloader_payload_SRCS = bootloader/payload.c bootloader/sha256.c bootloader/bootcfg.c bootloader/kvfile.c
runtime_timer_SRCS = runtime/kernel/timer.c
$(OUT)/runtime_timer: CFLAGS += -DUNICYCLE_HOST_TEST
net_inet_SRCS = runtime/net/inet.c
# examples/kv: its sources are host C too (time is passed in, no runtime calls)
KV := examples/kv/src
kv_resp_SRCS = $(KV)/resp.c
kv_store_SRCS = $(KV)/store.c
kv_commands_SRCS = $(KV)/commands.c $(KV)/store.c $(KV)/resp.c $(KV)/config.c
kv_config_SRCS = $(KV)/config.c
kv_logrec_SRCS = $(KV)/logrec.c $(KV)/store.c
$(OUT)/kv_resp $(OUT)/kv_store $(OUT)/kv_commands $(OUT)/kv_config $(OUT)/kv_logrec: CFLAGS += -I$(ROOT)/$(KV)
drivers_virtio_SRCS = runtime/drivers/virtio_ring.c runtime/drivers/virtio.c runtime/drivers/virtio_pci.c
$(OUT)/drivers_virtio: CFLAGS += -DUNICYCLE_HOST_TEST
drivers_pci_SRCS =
# virtio-mmio against a fake device behind the transport's register accessors
drivers_virtio_mmio_SRCS = runtime/drivers/virtio_mmio.c runtime/drivers/virtio.c
$(OUT)/drivers_virtio_mmio: CFLAGS += -DUNICYCLE_HOST_TEST -DVIRTIO_MMIO_TEST_REGS
# the PVH converter with the bootloader's tree builder, its trees parsed by bootinfo.c
runtime_pvh_SRCS = runtime/arch/x86_64/pvh/pvh.c bootloader/fdtbuild.c bootloader/bootcfg.c \
	bootloader/kvfile.c runtime/kernel/bootinfo.c runtime/lib/printf.c $(COMPONENT_bootloader-libfdt)
$(OUT)/runtime_pvh: CFLAGS += -DUNICYCLE_HOST_TEST
# payload.sig against the RFC 6979 vectors in BearSSL's own test suite (the Debian source)
bootloader_sigcheck_SRCS = bootloader/sigcheck.c bootloader/sha256.c bootloader/kvfile.c \
	$(COMPONENT_bootloader-bearssl)
$(OUT)/bootloader_sigcheck: CFLAGS += $(COMPONENT_bootloader-bearssl_INCLUDES) -I$(OUT)
$(OUT)/bootloader_sigcheck: $(OUT)/ecdsa_vectors.h
$(OUT)/ecdsa_vectors.h: gen_ecdsa_vectors.py $(COMPONENT_bootloader-bearssl_ROOT)/test/test_crypto.c | $(OUT)
	$(PYTHON) gen_ecdsa_vectors.py $(COMPONENT_bootloader-bearssl_ROOT)/test/test_crypto.c > $@.tmp && mv $@.tmp $@
