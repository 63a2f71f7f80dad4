#ifndef C_EVENT_LOOP_H
#define C_EVENT_LOOP_H

// The few Linux calls Glibc's Swift overlay does not export (epoll, eventfd, futex),
// wrapped so Swift sees plain, unpacked types, plus the thread-local slot that holds the
// dispatcher running on the current thread.

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Current dispatcher (thread-local)

/// The dispatcher bound to this thread, or NULL. Defined in CEventLoop.c.
extern _Thread_local void *cel_current_dispatcher_slot;

static inline void *cel_current_dispatcher(void) { return cel_current_dispatcher_slot; }
static inline void cel_set_current_dispatcher(void *dispatcher) { cel_current_dispatcher_slot = dispatcher; }

// MARK: Idle policy of the current thread (thread-local)

/// How the calling plain thread waits before it blocks, and what its recent waits were
/// like. Zero-initialised: the default adaptive policy with a fresh history. Only the owning
/// thread touches its slot. `policy` holds the encoded `IdlePolicy` (see LoopUtilities'
/// `IdleSettings`), `history` the adaptive score (`IdleHistory`).
typedef struct cel_idle_state {
    uint64_t policy;
    uint64_t history;
} cel_idle_state;

/// The calling thread's idle state. Defined in CEventLoop.c.
extern _Thread_local cel_idle_state cel_idle_state_slot;

static inline cel_idle_state *cel_current_idle_state(void) { return &cel_idle_state_slot; }

/// Called with the registered pointer when a thread that registered one exits.
typedef void (*cel_thread_exit_hook)(void *context);

/// Installs the process-wide hook that `cel_register_thread_exit` arranges to call.
void cel_set_thread_exit_hook(cel_thread_exit_hook hook);

/// Arranges for the hook to be called with `context` when the calling thread exits.
/// Returns 0 or an errno value.
int cel_register_thread_exit(void *context);

// MARK: epoll

/// One readiness event, unpacked (the kernel's `struct epoll_event` is packed on x86-64).
typedef struct cel_event {
    uint32_t events;
    uint64_t data;
} cel_event;

enum {
    CEL_EPOLLIN = 0x001,
    CEL_EPOLLOUT = 0x004,
    CEL_EPOLLERR = 0x008,
    CEL_EPOLLHUP = 0x010,
    CEL_EPOLLRDHUP = 0x2000,
    CEL_EPOLLONESHOT = 1u << 30,
};

enum { CEL_EPOLL_CTL_ADD = 1, CEL_EPOLL_CTL_DEL = 2, CEL_EPOLL_CTL_MOD = 3 };

/// epoll_create1(EPOLL_CLOEXEC); returns the fd or -1 with errno set.
int cel_epoll_create(void);

/// epoll_ctl with an unpacked event; returns 0 or -1 with errno set.
int cel_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);

/// Waits for events. `timeout_ns` < 0 waits forever; 0 polls. Uses epoll_pwait2 for
/// nanosecond timeouts where the kernel has it, else epoll_wait with the timeout rounded
/// up to whole milliseconds. Returns the number of events or -1 with errno set (EINTR is
/// returned to the caller, which simply loops).
int cel_epoll_wait(int epfd, cel_event *events, int max_events, int64_t timeout_ns);

// MARK: eventfd

/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); returns the fd or -1 with errno set.
int cel_eventfd_create(void);

/// Adds 1 to the eventfd's counter. Returns 0 or an errno value.
int cel_eventfd_signal(int fd);

/// Reads and resets the eventfd's counter (non-blocking). Returns the value read, 0 when
/// it was already zero, or -1 with errno set.
int64_t cel_eventfd_drain(int fd);

// MARK: Time, polling and blocking

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t cel_monotonic_ns(void);

/// Blocks until `fd` is readable or `timeout_ns` passes (< 0: forever). Returns 1 when
/// readable, 0 on timeout, -1 with errno set on error. Interrupted calls are resumed
/// with the remaining time.
int cel_poll_readable(int fd, int64_t timeout_ns);

/// A one-thread parker in one 32-bit word (0 empty, 1 notified, UINT32_MAX parked), like
/// Rust's futex parker. `cel_park` returns 1 when it consumed a notification, 0 on
/// timeout (`timeout_ns` < 0 waits forever). `cel_unpark` never blocks; a notification
/// given before `cel_park` makes it return at once. One thread parks on a word at a time.
int cel_park(uint32_t *state, int64_t timeout_ns);
void cel_unpark(uint32_t *state);

/// Whether a `cel_unpark` is pending on the parker word (relaxed load): a spin before
/// `cel_park` watches it, and the park that follows consumes the notification (acquire).
static inline bool cel_park_is_notified(uint32_t *state) { return __atomic_load_n(state, __ATOMIC_RELAXED) == 1; }

/// Names the calling thread (the kernel keeps the first 15 bytes).
void cel_set_thread_name(const char *name);

/// ThreadSanitizer: ignore this thread's reads between begin and end. No-ops unless the
/// process runs with the TSan runtime (looked up as weak symbols).
void cel_tsan_ignore_reads_begin(void);
void cel_tsan_ignore_reads_end(void);

/// ThreadSanitizer: a release on `address` by this thread, and an acquire that pairs with
/// it, so TSan sees an ordering that an uninstrumented atomic provides. No-ops (two plain
/// calls, no atomic) unless the process runs with the TSan runtime.
void cel_tsan_release(void *address);
void cel_tsan_acquire(void *address);

/// The calling thread's errno.
int cel_errno(void);

/// A fast per-thread pseudo-random number (xorshift64*, seeded on first use from the clock
/// and the thread's slot address). Not for cryptography: for the choice among ready cases
/// of a select, where a system call per choice would cost more than the choice.
uint64_t cel_random(void);

/// How many CPUs the calling thread may run on (`sched_getaffinity`'s mask, counted with
/// `CPU_COUNT`, which Glibc's Swift overlay does not export); at least 1. Falls back to
/// the online CPUs (`sysconf`) when the mask cannot be read.
int cel_available_cpu_count(void);

// MARK: Spinning

/// A CPU hint for one iteration of a spin-wait loop (x86 `pause`, Arm `yield`).
static inline void cel_spin_loop_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif

#endif
