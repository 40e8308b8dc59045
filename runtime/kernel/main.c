/* main.c: kernel_main, entered from start.S: brings the runtime up in order, then runs the app. */
#include "kernel/kernel.h"

void kernel_main(uint64_t bootinfo_phys)
{
	/* The console first: everything after it can report failure. */
	console_init();
	console_printf("unicycle: runtime starting on %s\n", CONFIG_BOARD_NAME);
	/* Exceptions next, so a fault while reading the boot info is reported. */
	idt_init();
	bootinfo_init(bootinfo_phys);

	uc_exit(app_main());
}
