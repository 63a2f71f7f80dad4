/// One case of a ``select(biased:_:)`` or ``selectSync(biased:_:)``: an operation on a
/// source (receive from a channel, send into a bounded channel, a `ThreadSignal` fired), a
/// timeout, or a default, with the handler that runs when the case is chosen.
///
/// Make cases with the sources' `on…` methods (`channel.onReceive { … }`,
/// `bounded.onSend(value) { … }`, `signal.onFire { … }`, `hatchReceiver.onReceive { … }`)
/// and with ``SelectTimeout`` and ``SelectDefault``. Every case of one select returns the
/// same `Result` from its handler.
///
/// The requirements whose names begin with an underscore are the protocol between a select
/// and the package's sources; they are public only because Swift requires it. Conforming
/// types outside LoopChannels are not supported.
public protocol SelectCase<Result> {
    /// What the handler returns; the result of the whole select.
    associatedtype Result

    /// What kind of case this is.
    var _kind: _SelectCaseKind { get }

    /// Performs the operation now if the source is ready (an element or a closure to
    /// receive, room or a receiver to send to, a fire) and runs the handler; nil when the
    /// operation would have to wait. Takes nothing when it returns nil.
    func _poll() throws -> Result?

    /// Registers `waiter` with the source as case `index`: the source claims the waiter
    /// when it can complete the operation, now (the source is ready) or later.
    func _register(_ waiter: _SelectWaiter, as index: Int)

    /// Removes every entry of `waiter` from the source; does nothing for entries the source
    /// has already removed.
    func _unregister(_ waiter: _SelectWaiter)

    /// Runs the handler of the case that won, with what the source handed over.
    func _complete(_ waiter: _SelectWaiter) throws -> Result
}

/// What kind of case a ``SelectCase`` is. An implementation detail of the select cases.
public enum _SelectCaseKind: Sendable {
    /// An operation on a source.
    case operation
    /// A timeout after the given duration, from the moment the select starts to wait.
    case timeout(Duration)
    /// A timeout at the given instant.
    case deadline(ContinuousClock.Instant)
    /// A default case: the select does not wait.
    case otherwise
}

extension SelectCase {
    /// Operation cases register nothing special; timeouts and defaults override nothing.
    @inlinable
    public var _kind: _SelectCaseKind { .operation }
}

/// A timeout for a ``select(biased:_:)`` or ``selectSync(biased:_:)``: its handler runs when
/// no other case became ready within the duration (or before the deadline).
///
/// A select that finds a case ready never waits, so its timeout does not fire, even a zero
/// one. With several timeouts, the earliest wins. A waiting task's timeout is a timer on its
/// loop when it runs on a ``Dispatcher``, else on a shared timeout thread started on first
/// use; a blocked thread parks with a deadline. When another case wins, the timer is
/// cancelled.
///
/// ```swift
/// let next = try await select(
///     jobs.onReceive { job in job },
///     SelectTimeout(.milliseconds(100)) { nil }
/// )
/// ```
public struct SelectTimeout<Result>: SelectCase {
    @usableFromInline let limit: _SelectCaseKind
    @usableFromInline let handler: () throws -> Result

    /// A timeout `duration` after the select starts to wait.
    /// - Parameters:
    ///   - duration: how long the select waits for another case; zero or negative makes it
    ///     fire as soon as no case is ready.
    ///   - handler: what the select returns when the timeout fires; it may throw.
    @inlinable
    public init(_ duration: Duration, _ handler: @escaping () throws -> Result) {
        limit = .timeout(duration)
        self.handler = handler
    }

    /// A timeout at `deadline`.
    /// - Parameters:
    ///   - deadline: when the select stops waiting for another case; a past instant fires
    ///     as soon as no case is ready.
    ///   - handler: what the select returns when the deadline passes; it may throw.
    @inlinable
    public init(deadline: ContinuousClock.Instant, _ handler: @escaping () throws -> Result) {
        limit = .deadline(deadline)
        self.handler = handler
    }

    /// The timeout's kind: a duration or a deadline.
    @inlinable
    public var _kind: _SelectCaseKind { limit }

    /// A timeout is never ready when the select polls.
    @inlinable
    public func _poll() throws -> Result? { nil }

    /// The select arms one timer for its earliest timeout; nothing to register.
    @inlinable
    public func _register(_ waiter: _SelectWaiter, as index: Int) {}

    /// Nothing to unregister.
    @inlinable
    public func _unregister(_ waiter: _SelectWaiter) {}

    /// Runs the handler.
    @inlinable
    public func _complete(_ waiter: _SelectWaiter) throws -> Result { try handler() }
}

/// The default case of a select (Go's `default`): with it, the select never waits; when no
/// other case is ready, the default's handler runs.
///
/// ```swift
/// let element = try await select(
///     jobs.onReceive { job in job },
///     SelectDefault { nil }
/// )
/// ```
public struct SelectDefault<Result>: SelectCase {
    @usableFromInline let handler: () throws -> Result

    /// A default case that returns what `handler` returns.
    /// - Parameter handler: what the select returns when no other case is ready; it may throw.
    @inlinable
    public init(_ handler: @escaping () throws -> Result) {
        self.handler = handler
    }

    /// `.otherwise`.
    @inlinable
    public var _kind: _SelectCaseKind { .otherwise }

    /// A default is not an operation: the select runs it after polling the others.
    @inlinable
    public func _poll() throws -> Result? { nil }

    /// Never registered: a select with a default does not wait.
    @inlinable
    public func _register(_ waiter: _SelectWaiter, as index: Int) {}

    /// Nothing to unregister.
    @inlinable
    public func _unregister(_ waiter: _SelectWaiter) {}

    /// Runs the handler.
    @inlinable
    public func _complete(_ waiter: _SelectWaiter) throws -> Result { try handler() }
}
