#ifndef C_BENCH_SUPPORT_H
#define C_BENCH_SUPPORT_H

#include <stdint.h>

// eventfd(2), which Glibc's Swift overlay does not export, for the `eventfd-floor` peer.

/// eventfd(0, EFD_CLOEXEC), blocking; returns the fd or -1 with errno set.
int cbs_eventfd(void);

/// Adds `value` to the counter (blocking write); returns 0 or -1 with errno set.
int cbs_eventfd_write(int fd, uint64_t value);

/// Reads and resets the counter, blocking while it is 0; returns 0 or -1 with errno set.
int cbs_eventfd_read(int fd, uint64_t *value);

#endif
