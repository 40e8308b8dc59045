/* exit.c: ending the app: isa-debug-exit on QEMU boards, halt elsewhere. */
#include "kernel/kernel.h"
#include "arch/x86_64/io.h"

/*
 * QEMU's isa-debug-exit device (hw/misc/debugexit.c) ends QEMU when written
 * and makes its exit status (value << 1) | 1, so status 0 shows up as 1.
 * The board sets the port (-device isa-debug-exit,iobase=...,iosize=4).
 */
void exit_machine(int status)
{
	/* QEMU's exit status has 8 bits, so (value << 1) | 1 carries 7 bits of
	 * the value: statuses 0-126 reach `unicycle run` as they are; 127 says
	 * the runtime stopped the app (CPU exception, panic) or the app asked
	 * for a status outside 0-126. */
	if (status < 0 || status > 126)
		status = 127;
	watchdog_stop(); /* a halted CPU is no stall to report; the hardware watchdog counts on */
	console_printf("unicycle: exit %d\n", status);
#ifdef CONFIG_EXIT_ISA_DEBUG
	outl(CONFIG_EXIT_ISA_DEBUG_PORT, (uint32_t)status);
#endif
	cpu_halt_forever();
}

void uc_exit(int status)
{
	exit_machine(status);
}
