/* exitcode.c - ends with the exit status given as argv[1] (default 3)
 * after writing to stdout and stderr, through exit() or, with a second
 * argument "return", by returning from main. Checks that buffered output
 * is flushed on exit and that the status reaches the host intact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int code = argc > 1 ? atoi(argv[1]) : 3;
    printf("exiting with %d", code); /* no newline: flushed only by exit */
    fprintf(stderr, "exitcode: about to exit with %d\n", code);
    if (argc > 2 && !strcmp(argv[2], "return"))
        return code;
    exit(code);
}
