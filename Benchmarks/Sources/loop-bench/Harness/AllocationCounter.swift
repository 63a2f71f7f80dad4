import MallocInterposerSwift

/// Counts `malloc` calls (and `calloc`, `realloc`, `posix_memalign`…) of every thread in the
/// process, using ordo-one's malloc-interposer.
///
/// The interposer's shared library defines `malloc` and friends; the executable links it,
/// so the dynamic linker resolves the process's allocation calls to it ahead of libc (no
/// `LD_PRELOAD` needed on Linux). It keeps per-thread counters, so counting costs the
/// measured code a few nanoseconds per allocation and no shared cache line.
/// ``verify()`` proves at start-up that the counter sees allocations; if it does not, the
/// harness reports allocations as null rather than as zero.
enum AllocationCounter {
    /// Whether ``verify()`` saw the counter work. Written once at start-up, before any
    /// measurement, by the harness thread.
    nonisolated(unsafe) private(set) static var isWorking = false

    /// Resets the counters and starts counting.
    static func start() {
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
    }

    /// Stops counting and returns the allocations counted since ``start()``, or nil when
    /// the counter is not working.
    static func stop() -> Int? {
        MallocInterposerSwift.unhook()
        return isWorking ? MallocInterposerSwift.getStatistics().mallocCount : nil
    }

    /// Allocates `count` class instances under the counter and checks that it saw at least
    /// that many allocations.
    /// - Returns: the allocations counted for `count` instances.
    @discardableResult
    static func verify(count: Int = 1_000) -> Int {
        final class Probe {
            let value: Int
            init(_ value: Int) { self.value = value }
        }
        var probes: [Probe] = []
        probes.reserveCapacity(count)
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        for index in 0..<count { probes.append(Probe(index)) }
        MallocInterposerSwift.unhook()
        let counted = MallocInterposerSwift.getStatistics().mallocCount
        withExtendedLifetime(probes) {}
        isWorking = counted >= count
        return counted
    }
}
