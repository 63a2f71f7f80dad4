#ifndef CLOOPTESTSUPPORT_H
#define CLOOPTESTSUPPORT_H

/// The CPU the calling thread runs on now (`sched_getcpu`), or -1 with `errno` set.
int clts_current_cpu(void);

/// Restricts the calling thread to the one CPU `cpu` (`sched_setaffinity`). Returns 0, or
/// -1 with `errno` set.
int clts_pin_current_thread(int cpu);

#endif
