/* fib - recursive calls: the naive doubly recursive Fibonacci, so nearly
 * all the time is call, compare, add and return. SIZE is n. */
#include "kernel.h"

static uint32_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, "fib");
    uint64_t h = BENCH_CHECK_INIT;
    /* The seed picks a small offset so the argument is unknown to the compiler. */
    uint32_t n = bench_size - (bench_seed & 1);
    h = bench_mix(h, fib(n));
    h = bench_mix(h, fib(n > 10 ? n - 10 : n));
    bench_print("fib", h);
    return 0;
}
