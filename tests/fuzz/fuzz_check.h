/*
 * The one assertion the harnesses use. A broken invariant aborts, so
 * libFuzzer records the input as a crash and prints the stack.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* Abort with a reason libFuzzer shows next to the stack. */
#define FUZZ_REQUIRE(cond)                                                     \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", #cond,      \
                    __FILE__, __LINE__);                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
