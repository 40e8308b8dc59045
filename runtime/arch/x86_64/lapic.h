/* lapic.h: this CPU's local APIC, per lapic.c (register map in apic.h). */
#ifndef UNICYCLE_ARCH_LAPIC_H
#define UNICYCLE_ARCH_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

void lapic_init(void);            /* BSP: picks x2APIC/xAPIC, calibrates the timer */
void lapic_enable_cpu(void);      /* any CPU: APIC on in the BSP's mode, timer masked */
bool lapic_is_x2apic(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void lapic_timer_arm(uint64_t deadline_ns); /* time_ns() clock; 0 disarms */

#endif
