#include "graft_support.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define GRAFT_FTZ_DAZ 0x8040u /* FTZ bit 15, DAZ bit 6 */
unsigned int graft_enable_flush_to_zero(void) {
    unsigned int previous = _mm_getcsr();
    _mm_setcsr(previous | GRAFT_FTZ_DAZ);
    return previous;
}
unsigned int graft_disable_flush_to_zero(void) {
    unsigned int previous = _mm_getcsr();
    _mm_setcsr(previous & ~GRAFT_FTZ_DAZ);
    return previous;
}
void graft_restore_fp_mode(unsigned int previous) { _mm_setcsr(previous); }
int graft_flush_to_zero_enabled(void) { return (_mm_getcsr() & GRAFT_FTZ_DAZ) == GRAFT_FTZ_DAZ; }
#elif defined(__aarch64__)
#include <stdint.h>
unsigned int graft_enable_flush_to_zero(void) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1ull << 24)));
    return (unsigned int)fpcr;
}
unsigned int graft_disable_flush_to_zero(void) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr & ~(1ull << 24)));
    return (unsigned int)fpcr;
}
void graft_restore_fp_mode(unsigned int previous) {
    uint64_t fpcr = previous;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}
int graft_flush_to_zero_enabled(void) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (fpcr >> 24) & 1;
}
#else
unsigned int graft_enable_flush_to_zero(void) { return 0; }
unsigned int graft_disable_flush_to_zero(void) { return 0; }
void graft_restore_fp_mode(unsigned int previous) { (void)previous; }
int graft_flush_to_zero_enabled(void) { return 0; }
#endif
