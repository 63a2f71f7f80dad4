// With the package trait `ServiceLifecycle`, the loops and the pool are swift-service-lifecycle
// services: a `ServiceGroup` starts nothing (they run from their `init`), and stops them
// gracefully when it shuts down. Without the trait this file is empty and the package
// resolves no other package.
#if ServiceLifecycle
    public import ServiceLifecycle

    extension LoopThread: Service {
        /// Keeps the loop running until the service group shuts down gracefully or the task
        /// running this is cancelled, then shuts the loop down (``LoopThread/shutdownGracefully()``)
        /// and returns once its thread has ended.
        ///
        /// The loop runs from its `init`, not from this call: it serves tasks before the group
        /// starts. Call it once, from the task a `ServiceGroup` runs it in. A loop shut down by a
        /// direct call keeps this call waiting until the group shuts down or cancels it.
        /// - Throws: nothing; cancellation ends the wait and shuts the loop down.
        public func run() async throws {
            await untilGracefulShutdownOrCancellation()
            await shutdownGracefully()
        }
    }

    extension LoopGroup: Service {
        /// Keeps the loops running until the service group shuts down gracefully or the task
        /// running this is cancelled, then shuts them down (``LoopGroup/shutdownGracefully()``)
        /// and returns once their threads have ended.
        ///
        /// The loops run from the group's `init`, not from this call. Call it once, from the task
        /// a `ServiceGroup` runs it in. A group shut down by a direct call keeps this call waiting
        /// until the service group shuts down or cancels it.
        /// - Throws: nothing; cancellation ends the wait and shuts the loops down.
        public func run() async throws {
            await untilGracefulShutdownOrCancellation()
            await shutdownGracefully()
        }
    }

    extension ThreadPool: Service {
        /// Keeps the pool running until the service group shuts down gracefully or the task
        /// running this is cancelled, then shuts it down (``ThreadPool/shutdownGracefully()``:
        /// the queued jobs run first) and returns once its threads have ended.
        ///
        /// The threads run from the pool's `init`, not from this call. List the pool before the
        /// services that submit to it: a `ServiceGroup` shuts its services down in reverse
        /// order, so they stop sending before the pool stops accepting. Call it once, from the
        /// task a `ServiceGroup` runs it in.
        /// - Throws: nothing; cancellation ends the wait and shuts the pool down gracefully.
        public func run() async throws {
            await untilGracefulShutdownOrCancellation()
            await shutdownGracefully()
        }
    }

    /// Suspends until graceful shutdown is triggered for the calling task's service, or the
    /// task is cancelled; either ends the wait the same way.
    private func untilGracefulShutdownOrCancellation() async {
        // Throws only CancellationError, which is one of the two ends this waits for.
        try? await gracefulShutdown()
    }
#endif
