#include "CBenchSupport.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

int cbs_eventfd(void) { return eventfd(0, EFD_CLOEXEC); }

int cbs_eventfd_write(int fd, uint64_t value) {
    for (;;) {
        ssize_t n = write(fd, &value, sizeof value);
        if (n == (ssize_t)sizeof value) return 0;
        if (n < 0 && errno == EINTR) continue;
        return -1;
    }
}

int cbs_eventfd_read(int fd, uint64_t *value) {
    for (;;) {
        ssize_t n = read(fd, value, sizeof *value);
        if (n == (ssize_t)sizeof *value) return 0;
        if (n < 0 && errno == EINTR) continue;
        return -1;
    }
}
