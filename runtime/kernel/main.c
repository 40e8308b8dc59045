/* main.c: kernel_main, entered from start.S: brings the runtime up in order, then runs the app. */
#include "kernel/kernel.h"
#include "kernel/acpi.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/irq.h"

/* Linker-made bounds of the init levels (arch/x86_64/linker.ld). */
extern const init_fn __start_init_calls[], __stop_init_calls[];

void kernel_main(uint64_t bootinfo_phys)
{
	/* Per-CPU data (GS base) before anything asks which CPU it runs on. */
	smp_init_bsp();
	/* The console first: everything after it can report failure. */
	console_init();
	console_printf("unicycle: %s starting on %s\n", CONFIG_APP_NAME, CONFIG_BOARD_NAME);
	/* Exceptions next, so a fault while reading the boot info is reported. */
	idt_init();
	/* Required CPU features, and AVX state on before any app code runs. */
	cpu_init();
	bootinfo_init(bootinfo_phys);
	smp_reserve_low(); /* the AP trampoline's page, before mem_setup hands out RAM */
	mem_setup();
	acpi_init();
	time_init();
	irq_init();
	smp_start();
	/* Interrupts on: handlers only set pending bits the loop reads. */
	irq_enable();
	/* Buses and their drivers, then the stacks over the devices found
	 * (INIT_CALL): whatever this build's Kconfig compiled in. */
	for (const init_fn *f = __start_init_calls; f < __stop_init_calls; f++)
		(*f)();
	uc_exit(app_main());
}
