import EventLoop
import Hatch
import Synchronization

extension Scenario {
    /// A plain thread notifies; a task on a loop wakes.
    static func wakeCrossThread(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "wake-xthread",
            summary:
                "one notification from a plain thread to a loop task that waits for the count to reach n (notifications may coalesce)",
            operations: 1_000_000,
            quickOperations: 50_000,
            reference: "AsyncStream",
            implementations: [
                .wakeSinkWake(environment),
                .asyncStreamWake(environment),
            ]
        )
    }
}

extension Implementation {
    /// `WakeSink` (ours): the thread stores the count and notifies; the task waits until the
    /// count reaches n.
    static func wakeSinkWake(_ environment: BenchEnvironment) -> Implementation {
        Implementation("WakeSink", syscalls: .dispatcherCounters) { context in
            let count = context.operations
            let sink = WakeSink()
            let source = sink.source()
            let progress = NotifiedCount()
            let done = Completion()
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        try await sink.wait { progress.value.load(ordering: .acquiring) == count ? () : nil }
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                let notifier = PlainThread {
                    for sent in 1...count {
                        progress.value.store(sent, ordering: .releasing)
                        source.notify()
                    }
                }
                try done.wait()
                notifier.join()
            }
        }
    }

    /// `AsyncStream`: a `Void` stream that keeps only the newest element, the usual way to
    /// turn a stream into a coalescing signal.
    static func asyncStreamWake(_ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "AsyncStream",
            note: "AsyncStream (wake-xthread): AsyncStream<Void> with bufferingPolicy .bufferingNewest(1)"
        ) { context in
            let count = context.operations
            let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            let progress = NotifiedCount()
            let done = Completion()
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    for await _ in stream where progress.value.load(ordering: .acquiring) == count { break }
                    done.finish()
                }
                let notifier = PlainThread {
                    for sent in 1...count {
                        progress.value.store(sent, ordering: .releasing)
                        continuation.yield()
                    }
                }
                try done.wait()
                notifier.join()
            }
        }
    }
}

/// How many notifications the notifier has sent: the state a waker's predicate looks at.
final class NotifiedCount: Sendable {
    // Release by the notifier / acquire by the waiter: what the notifier did before the
    // store is visible to the woken task.
    let value = Atomic<Int>(0)
}
