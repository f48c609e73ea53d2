// Bare-metal start for the QEMU machine mps2-an386 (Cortex-M4): vector table, .bss cleared, the FPU enabled
// when the build uses it, C++ constructors run, stdio over semihosting (newlib's rdimon), main's exit code to
// the host. Used by tests/core/test_cross_arch.py only.
#include <stdint.h>
#include <stdlib.h>

extern "C" {
extern uint32_t __bss_start__, __bss_end__, __stack_top;
typedef void (*init_fn)();
extern init_fn __init_array_start[], __init_array_end[];
void initialise_monitor_handles(void);
int main();

[[noreturn]] void reset_handler() {
  for (uint32_t* p = &__bss_start__; p < &__bss_end__; ++p) *p = 0;
#if defined(__ARM_FP)
  *reinterpret_cast<volatile uint32_t*>(0xE000ED88) |= 0xFu << 20;  // CPACR: CP10/CP11 full access
  __asm volatile("dsb\n isb");
#endif
  initialise_monitor_handles();
  for (init_fn* f = __init_array_start; f < __init_array_end; ++f) (*f)();
  exit(main());
}

// Any fault ends the run at once (exit code 99 through semihosting) instead of spinning until the timeout.
[[noreturn]] void fault_handler() { _Exit(99); }

__attribute__((section(".vectors"), used)) const void* const vectors[16] = {
    &__stack_top,
    reinterpret_cast<const void*>(reset_handler),
    reinterpret_cast<const void*>(fault_handler),  // NMI
    reinterpret_cast<const void*>(fault_handler),  // HardFault
    reinterpret_cast<const void*>(fault_handler),  // MemManage
    reinterpret_cast<const void*>(fault_handler),  // BusFault
    reinterpret_cast<const void*>(fault_handler),  // UsageFault
};
}
