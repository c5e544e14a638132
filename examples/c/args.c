/* args.c - prints its arguments (not argv[0], whose spelling differs
 * between a native path and a module path) and the environment variables
 * named by the arguments that start with '$', so that `graft run --env`
 * and a native `env K=V` run can be compared. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '$') {
            const char *v = getenv(argv[i] + 1);
            printf("env %s=%s\n", argv[i] + 1, v ? v : "(unset)");
        } else {
            printf("argv[%d]=[%s]\n", i, argv[i]);
        }
    }
    return 0;
}
