import CLoopTestSupport
public import EventLoop
public import Glibc
import LoopUtilities

// The calling thread's CPU time and CPU placement, for tests that check what a wait costs
// or how waiters share a CPU.

/// The CPU time the calling thread has used so far, in nanoseconds (its
/// `CLOCK_THREAD_CPUTIME_ID` clock).
public func threadCPUNanoseconds() -> Int {
    cpuNanoseconds(CLOCK_THREAD_CPUTIME_ID)
}

/// The time on the CPU clock `clock` (a thread's, from `pthread_getcpuclockid`, or
/// `CLOCK_THREAD_CPUTIME_ID`), in nanoseconds.
public func cpuNanoseconds(_ clock: clockid_t) -> Int {
    var time = timespec()
    let status = clock_gettime(clock, &time)
    precondition(status == 0, "clock_gettime failed: \(errno)")
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}

/// The CPU the calling thread runs on now.
public func currentCPU() -> Int32 {
    let cpu = clts_current_cpu()
    precondition(cpu >= 0, "sched_getcpu failed: \(errno)")
    return cpu
}

/// Restricts the calling thread to the one CPU `cpu`, for the rest of its life.
public func pinCurrentThread(to cpu: Int32) {
    let status = clts_pin_current_thread(cpu)
    precondition(status == 0, "sched_setaffinity(\(cpu)) failed: \(errno)")
}

/// The median of `samples` (the upper one of an even count); 0 for none.
public func median(_ samples: [Int]) -> Int {
    samples.isEmpty ? 0 : samples.sorted()[samples.count / 2]
}

/// Runs `trips` exchanges between two plain threads restricted to one CPU, both under the
/// idle policy `policy`: one thread calls `echo` `trips` times, the other `call`. Returns the
/// median CPU time the calling thread used per exchange, in nanoseconds: a median, so that
/// the exchanges in which other threads of a busy machine took the CPU do not count.
///
/// Each side spins while it waits for the other, which cannot run on the shared CPU until
/// the spinner gives the CPU away: a spin that does so costs microseconds per exchange, one
/// that holds the CPU until the scheduler preempts it costs a scheduler tick (1 to 4 ms).
public func callerCPUPerExchangeOnOneCPU(
    trips: Int,
    policy: IdlePolicy,
    echo: @escaping @Sendable () -> Void,
    call: @escaping @Sendable () -> Void
) async -> Int {
    let cpu = currentCPU()
    let samples = LockedValue<[Int]>([])
    let echoing = PlainThread {
        pinCurrentThread(to: cpu)
        IdlePolicy.currentThread = policy
        for _ in 0..<trips { echo() }
    }
    let calling = PlainThread {
        pinCurrentThread(to: cpu)
        IdlePolicy.currentThread = policy
        var spent: [Int] = []
        spent.reserveCapacity(trips)
        for _ in 0..<trips {
            let before = threadCPUNanoseconds()
            call()
            spent.append(threadCPUNanoseconds() - before)
        }
        samples.withLock { $0 = spent }
    }
    await calling.join()
    await echoing.join()
    return median(samples.withLock { $0 })
}
