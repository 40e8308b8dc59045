runtime_printf_SRCS = runtime/lib/printf.c
runtime_bootinfo_SRCS = runtime/kernel/bootinfo.c runtime/lib/printf.c .cache/third_party/libfdt/fdt.c .cache/third_party/libfdt/fdt_ro.c .cache/third_party/libfdt/fdt_sw.c .cache/third_party/libfdt/fdt_strerror.c
$(OUT)/runtime_bootinfo: CFLAGS += -DUNICYCLE_HOST_TEST
net_http_SRCS = runtime/net/http_server.c .cache/third_party/http-parser/http_parser.c
$(OUT)/net_http: CFLAGS += -I$(TP)/http-parser
net_addr_SRCS = runtime/net/netaddr.c
