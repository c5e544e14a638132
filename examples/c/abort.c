/* abort.c - prints a line, flushes it, and calls abort(). Natively the
 * process dies of SIGABRT, which a shell reports as status 134; under
 * graft wasi-libc's abort() is a WebAssembly trap, which graft also
 * reports as 134 (docs/cli.md, "Exit statuses"), so the two runs agree
 * on stdout and status. Their stderr differs: graft adds the trap message
 * and backtrace. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("about to abort\n");
    fflush(stdout);
    abort();
}
