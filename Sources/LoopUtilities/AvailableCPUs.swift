import CEventLoop

/// How many CPUs the calling thread may run on: the CPUs in its affinity mask
/// (`sched_getaffinity`, so a `taskset` or a container's CPU set counts), at least 1. The
/// default size of a loop group or a thread pool: one thread per CPU the process may use.
/// Callable from any thread; one system call.
package func availableCPUCount() -> Int {
    Int(cel_available_cpu_count())
}
