/* floats.c - printf of floating-point values and 64-bit integers.
 *
 * Exercises the libc's number formatting (%f %e %g %a, widths, precision,
 * PRId64/PRIu64/PRIx64) on values computed with IEEE-754 operations that
 * every conforming platform rounds identically (+ - * / sqrt, conversions),
 * so the wasm32-wasi build and the native build must print the same bytes.
 * No transcendental functions: their last bit may differ between libms. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static void print_doubles(void)
{
    const double values[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300,
                             1e300, 123456789.125, 6.02214076e23, 5e-324, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        double v = values[i];
        printf("%2zu: %f | %.3e | %g | %.17g\n", i, v, v, v, v);
    }
    /* %a of normal numbers only: libcs disagree on how to show subnormals */
    printf("hex: %a %a %a %a\n", 1.0, -1.5, 0.1, 1e300);
    printf("inf=%f -inf=%f nan=%f\n", HUGE_VAL, -HUGE_VAL, fabs(NAN));
    printf("sqrt(2)=%.17g sqrt(1e10)=%.1f\n", sqrt(2.0), sqrt(1e10));
}

static void print_floats(void)
{
    float acc = 0.0f;
    for (int i = 1; i <= 1000; i++)
        acc += 1.0f / (float)i;
    printf("harmonic(1000) as float=%.9g double-of-float=%.17g\n", acc, (double)acc);
    printf("%10.4f|%-10.2f|%+e|%08.3f\n", 3.14159265f, -2.5f, 1234.5f, -1.25f);
}

static void print_int64(void)
{
    int64_t vals[] = {0, 1, -1, INT64_MAX, INT64_MIN, 1234567890123456789LL, -987654321098765LL};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        printf("%" PRId64 " %" PRIu64 " 0x%016" PRIx64 " %" PRIo64 "\n", vals[i],
               (uint64_t)vals[i], (uint64_t)vals[i], (uint64_t)vals[i]);
    uint64_t fib_a = 0, fib_b = 1;
    for (int i = 0; i < 93; i++) {
        uint64_t next = fib_a + fib_b;
        fib_a = fib_b;
        fib_b = next;
    }
    printf("fib(93)=%" PRIu64 "\n", fib_a);
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over 0..9999 */
    for (uint32_t i = 0; i < 10000; i++) {
        h ^= i & 0xff;
        h *= 1099511628211ULL;
    }
    printf("fnv=%" PRIx64 " div=%" PRId64 " mod=%" PRId64 " udiv=%" PRIu64 "\n", h,
           INT64_MIN / 7, INT64_MIN % 7, UINT64_MAX / 3);
    printf("long long %lld %llu %lx\n", -42LL, 42ULL, (unsigned long)0xdeadbeefUL);
    double big = 9007199254740993.0; /* rounds to 2^53 */
    printf("to-int %" PRId64 " %" PRId64 " %.1f\n", (int64_t)big, (int64_t)-2.75,
           (double)((int64_t)1 << 62));
}

int main(void)
{
    print_doubles();
    print_floats();
    print_int64();
    return 0;
}
