#define _GNU_SOURCE
#include "CEventLoop.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Thread_local void *cel_current_dispatcher_slot = NULL;
_Thread_local cel_idle_state cel_idle_state_slot = {0, 0};

// MARK: Random

static _Thread_local uint64_t random_state = 0;

uint64_t cel_random(void) {
    uint64_t x = random_state;
    if (x == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&random_state;
        x ^= 0x9E3779B97F4A7C15ull;
        if (x == 0) x = 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    random_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

// MARK: Thread exit

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static cel_thread_exit_hook exit_hook = NULL;

static void run_exit_hook(void *context) {
    // pthread calls this only with a non-NULL value, after the thread's own code ended.
    cel_thread_exit_hook hook = __atomic_load_n(&exit_hook, __ATOMIC_ACQUIRE);
    if (hook != NULL) {
        hook(context);
    }
}

static void make_exit_key(void) { (void)pthread_key_create(&exit_key, run_exit_hook); }

void cel_set_thread_exit_hook(cel_thread_exit_hook hook) { __atomic_store_n(&exit_hook, hook, __ATOMIC_RELEASE); }

int cel_register_thread_exit(void *context) {
    pthread_once(&exit_key_once, make_exit_key);
    return pthread_setspecific(exit_key, context);
}

// MARK: epoll

int cel_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cel_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event = {.events = events, .data = {.u64 = data}};
    return epoll_ctl(epfd, op, fd, &event);
}

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

static int pwait2_missing = 0;

int cel_epoll_wait(int epfd, cel_event *events, int max_events, int64_t timeout_ns) {
    struct epoll_event raw[64];
    if (max_events > 64) {
        max_events = 64;
    }
    int n;
    if (timeout_ns > 0 && !__atomic_load_n(&pwait2_missing, __ATOMIC_RELAXED)) {
        struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
        n = (int)syscall(SYS_epoll_pwait2, epfd, raw, max_events, &ts, NULL, 0);
        if (n < 0 && errno == ENOSYS) {
            __atomic_store_n(&pwait2_missing, 1, __ATOMIC_RELAXED);
            return cel_epoll_wait(epfd, events, max_events, timeout_ns);
        }
    } else {
        int ms = -1;
        if (timeout_ns == 0) {
            ms = 0;
        } else if (timeout_ns > 0) {
            int64_t rounded = (timeout_ns + 999999) / 1000000;
            ms = rounded > 0x7fffffff ? 0x7fffffff : (int)rounded;
        }
        n = epoll_wait(epfd, raw, max_events, ms);
    }
    for (int i = 0; i < n; i++) {
        events[i].events = raw[i].events;
        events[i].data = raw[i].data.u64;
    }
    return n;
}

// MARK: eventfd

int cel_eventfd_create(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int cel_eventfd_signal(int fd) {
    uint64_t one = 1;
    for (;;) {
        ssize_t n = write(fd, &one, sizeof one);
        if (n == (ssize_t)sizeof one) {
            return 0;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        // EAGAIN means the counter is at its maximum: the fd is readable already.
        return (n < 0 && errno != EAGAIN) ? errno : 0;
    }
}

int64_t cel_eventfd_drain(int fd) {
    uint64_t value = 0;
    for (;;) {
        ssize_t n = read(fd, &value, sizeof value);
        if (n == (ssize_t)sizeof value) {
            return (int64_t)value;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return 0;
        }
        return -1;
    }
}

// MARK: Time, polling and blocking

uint64_t cel_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cel_poll_readable(int fd, int64_t timeout_ns) {
    uint64_t deadline = timeout_ns >= 0 ? cel_monotonic_ns() + (uint64_t)timeout_ns : 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        struct timespec ts, *tsp = NULL;
        if (timeout_ns >= 0) {
            uint64_t now = cel_monotonic_ns();
            uint64_t left = now >= deadline ? 0 : deadline - now;
            ts.tv_sec = (time_t)(left / 1000000000u);
            ts.tv_nsec = (long)(left % 1000000000u);
            tsp = &ts;
        }
        int n = ppoll(&p, 1, tsp, NULL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n > 0 && (p.revents & POLLNVAL)) {
            errno = EBADF;
            return -1;
        }
        return n < 0 ? -1 : (n > 0 ? 1 : 0);
    }
}

// Blocks while `*address == expected` (futex wait, private). `timeout_ns` < 0 waits
// forever. Returns 0 when woken or the value differed, -1 with errno set (ETIMEDOUT,
// EINTR). Only the parker below uses it.
static int futex_wait(uint32_t *address, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    long r = syscall(SYS_futex, address, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
    if (r < 0 && errno == EAGAIN) {
        return 0;
    }
    return r < 0 ? -1 : 0;
}

// Wakes up to `count` threads blocked in `futex_wait` on `address`.
static void futex_wake(uint32_t *address, int count) {
    (void)syscall(SYS_futex, address, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

enum { PARKER_EMPTY = 0, PARKER_NOTIFIED = 1, PARKER_PARKED = UINT32_MAX };

int cel_park(uint32_t *state, int64_t timeout_ns) {
    // Acquire pairs with the release in cel_unpark: what the unparker wrote before it
    // notified is visible once the notification is consumed.
    if (__atomic_fetch_sub(state, 1, __ATOMIC_ACQUIRE) == PARKER_NOTIFIED) {
        return 1;  // NOTIFIED -> EMPTY
    }
    // EMPTY -> PARKED: sleep until the word changes.
    uint64_t deadline = timeout_ns >= 0 ? cel_monotonic_ns() + (uint64_t)timeout_ns : 0;
    for (;;) {
        int64_t left = -1;
        if (timeout_ns >= 0) {
            uint64_t now = cel_monotonic_ns();
            left = now >= deadline ? 0 : (int64_t)(deadline - now);
        }
        if (left != 0) {
            (void)futex_wait(state, PARKER_PARKED, left);
        }
        uint32_t expected = PARKER_NOTIFIED;
        if (__atomic_compare_exchange_n(state, &expected, PARKER_EMPTY, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            return 1;
        }
        if (timeout_ns >= 0 && cel_monotonic_ns() >= deadline) {
            // PARKED -> EMPTY, unless a notification raced in just now.
            return __atomic_exchange_n(state, PARKER_EMPTY, __ATOMIC_ACQUIRE) == PARKER_NOTIFIED;
        }
    }
}

void cel_unpark(uint32_t *state) {
    if (__atomic_exchange_n(state, PARKER_NOTIFIED, __ATOMIC_RELEASE) == PARKER_PARKED) {
        futex_wake(state, 1);
    }
}

void cel_set_thread_name(const char *name) {
    char buffer[16];
    size_t i = 0;
    for (; name[i] != 0 && i < 15; i++) {
        buffer[i] = name[i];
    }
    buffer[i] = 0;
    (void)pthread_setname_np(pthread_self(), buffer);
}

// Provided by the ThreadSanitizer runtime when it is linked in; NULL otherwise.
extern void AnnotateIgnoreReadsBegin(const char *file, int line) __attribute__((weak));
extern void AnnotateIgnoreReadsEnd(const char *file, int line) __attribute__((weak));

extern void __tsan_release(void *address) __attribute__((weak));
extern void __tsan_acquire(void *address) __attribute__((weak));

void cel_tsan_release(void *address) {
    if (__tsan_release) {
        __tsan_release(address);
    }
}

void cel_tsan_acquire(void *address) {
    if (__tsan_acquire) {
        __tsan_acquire(address);
    }
}

void cel_tsan_ignore_reads_begin(void) {
    if (AnnotateIgnoreReadsBegin) {
        AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    }
}

void cel_tsan_ignore_reads_end(void) {
    if (AnnotateIgnoreReadsEnd) {
        AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    }
}

int cel_errno(void) { return errno; }

// MARK: CPUs

int cel_available_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int count = CPU_COUNT(&set);
        if (count > 0) {
            return count;
        }
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}
