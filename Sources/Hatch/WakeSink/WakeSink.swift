internal import LoopUtilities
public import Synchronization

/// Turns any non-blocking structure into an async one: a single consumer waits until a
/// predicate holds, and any number of ``WakeSource``s, from any thread, notify it
/// (diatomic-waker's `WakeSink`).
///
/// ```swift
/// let sink = WakeSink()
/// let source = sink.source()
/// // producer, any thread:   flag.store(true, ordering: .releasing); source.notify()
/// // consumer, one task:     try await sink.wait { flag.load(ordering: .acquiring) ? () : nil }
/// ```
///
/// The whole state is one atomic word that holds the suspended consumer's continuation (or
/// 0). A continuation is one-shot, so a notifier takes it out with a single `exchange`
/// and owns it: notifiers never wait for one another or for the consumer, there is no lock,
/// and a notifier that finds the slot empty is done. There is one consumer: after a wake it
/// registers its next continuation in the slot its previous one left (emptied by the
/// notifier that took it, or by the consumer's own unregistration), so a notification
/// always wakes that one consumer. A second task waiting while the slot holds the first
/// one's continuation stops the process with a message.
public final class WakeSink: Sendable {
    /// 0, or the bits of the registered `UnsafeContinuation<Void, Never>`.
    @usableFromInline let slot: Atomic<UInt>

    /// Creates a sink with no waiter. Callable from any thread.
    public init() {
        slot = Atomic(0)
    }

    /// Returns a notifier for this sink; copy it to as many producers as needed. Callable
    /// from any thread.
    public func source() -> WakeSource { WakeSource(sink: self) }

    /// Waits until `predicate` returns a value: checks it, registers, checks it again, and
    /// suspends until notified; then repeats.
    ///
    /// Single consumer: at most one task may wait on a sink at a time (two at once stops the
    /// process with a message). No notification is lost: a producer that makes the predicate
    /// true and then calls ``WakeSource/notify()`` either finds this call registered and wakes
    /// it, or its change is seen by the check that follows the registration. Spurious wakes
    /// only cost a predicate call. Runs on the caller's executor (`nonisolated(nonsending)`).
    ///
    /// Cost: 0 RMW when the first check succeeds; otherwise 1 RMW to register, and 1 more to
    /// unregister if the second check succeeds.
    ///
    /// - Parameter predicate: returns the awaited value, or nil to keep waiting. Called on
    ///   the waiting task only.
    /// - Returns: the first non-nil result of `predicate`.
    /// - Throws: `CancellationError` when the task is cancelled and the predicate still
    ///   returns nil (a value that is ready is returned even after cancellation).
    nonisolated(nonsending) public func wait<T>(until predicate: () -> T?) async throws -> T {
        if let value = predicate() { return value }
        return try await withCancellationHandler {
            while true {
                var ready: T? = nil
                // Read once per registration, only when the predicate still says no (each
                // read of `Task.isCancelled` retains and releases the task). A cancellation
                // that comes later wakes us through `onCancel`; the next round reads it.
                var cancelled = false
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    let mine = Self.bits(of: continuation)
                    // Acquiring-and-releasing, paired with the notifier's exchange: either
                    // the notifier's RMW comes first and its writes (what the predicate
                    // reads) are visible to the re-check below, or ours comes first and the
                    // notifier takes this continuation. Releasing also orders a cancellation
                    // handler's exchange after this registration.
                    let previous = slot.exchange(mine, ordering: .acquiringAndReleasing)
                    if previous != 0 {
                        fatalError(
                            "WakeSink.wait(until:): two tasks are waiting on the same sink at once; "
                                + "a WakeSink has a single consumer"
                        )
                    }
                    ready = predicate()
                    if ready == nil { cancelled = Task.isCancelled }
                    if ready != nil || cancelled {
                        // Unregister. If a notifier or the cancellation handler already took
                        // the continuation, it resumes it; otherwise we do.
                        if slot.compareExchange(expected: mine, desired: 0, ordering: .acquiringAndReleasing)
                            .exchanged
                        {
                            continuation.resume()
                        }
                    }
                }
                if let value = ready { return value }
                if let value = predicate() { return value }
                if cancelled { throw CancellationError() }
            }
        } onCancel: {
            self.wake()
        }
    }

    /// Takes the registered continuation, if any, and resumes it: 1 RMW.
    @usableFromInline
    func wake() {
        // Acquiring-and-releasing: releasing publishes the notifier's prior writes to the
        // consumer's registration RMW (or its resumption); acquiring takes ownership of the
        // continuation written before the consumer's releasing registration.
        let bits = slot.exchange(0, ordering: .acquiringAndReleasing)
        // The waiter may still be inside its registering closure: see resumeHidingRuntimeReads.
        if bits != 0 { resumeHidingRuntimeReads(Self.continuation(from: bits)) }
    }

    @inline(__always)
    static func bits(of continuation: UnsafeContinuation<Void, Never>) -> UInt {
        // Soundness: UnsafeContinuation is a @frozen struct wrapping one non-null task
        // pointer, so it has the size and alignment of UInt and no reference counting; the
        // bits are turned back into the same continuation exactly once (by whoever takes
        // them out of the slot) before it is resumed.
        unsafeBitCast(continuation, to: UInt.self)
    }

    @usableFromInline
    @inline(__always)
    static func continuation(from bits: UInt) -> UnsafeContinuation<Void, Never> {
        // Soundness: see `bits(of:)`; `bits` is non-zero and came from `bits(of:)`.
        unsafeBitCast(bits, to: UnsafeContinuation<Void, Never>.self)
    }
}

/// Notifies a ``WakeSink``'s waiter; copyable, callable from any thread.
public struct WakeSource: Sendable {
    @usableFromInline let sink: WakeSink

    @usableFromInline init(sink: WakeSink) { self.sink = sink }

    /// Wakes the sink's waiter if one is registered, so that it re-checks its predicate.
    ///
    /// Wait-free: one atomic `exchange` (1 RMW), whether or not anyone waits; never blocks,
    /// never allocates, never waits for other notifiers. Concurrent notifications coalesce:
    /// one waiter registration is woken once. Make the change the predicate looks for
    /// before calling this.
    @inlinable
    public func notify() {
        sink.wake()
    }
}
