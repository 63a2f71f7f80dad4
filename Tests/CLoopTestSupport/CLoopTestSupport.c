// The glibc calls that Swift cannot reach through its Glibc module: `sched_getcpu` and
// the `CPU_SET` macros exist only under `_GNU_SOURCE` or as macros. For the tests only.
#define _GNU_SOURCE
#include "CLoopTestSupport.h"
#include <sched.h>

int clts_current_cpu(void) {
    return sched_getcpu();
}

int clts_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}
