/* Wine 8.0 (Debian 12's) lacks bcryptprimitives.dll, whose ProcessPrng Rust's standard library
 * calls on Windows for random bytes (since Rust 1.78). This stand-in, used only to run the Windows
 * tests under Wine (scripts/test-platforms.sh), answers ProcessPrng with RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has. Real Windows (8 and later) has the DLL. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
