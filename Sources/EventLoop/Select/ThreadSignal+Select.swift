extension ThreadSignal {
    /// A select case that waits for this signal to fire and consumes the fire only when the
    /// case is chosen.
    ///
    /// Ready when the signal is set (the handler gets true, and the fire is consumed) or
    /// closed (the handler gets false). A select that chooses another case consumes no fire;
    /// a fire that comes while the select waits goes to the longest waiter (a `wait()` or a
    /// select) whose select has not ended another way.
    /// - Parameter handler: runs on the selecting task or thread when the case is chosen;
    ///   `fired` is false when the signal is closed. It may throw; the select rethrows.
    /// - Returns: the case, for ``select(biased:_:)`` or ``selectSync(biased:_:)``.
    @inlinable
    public func onFire<Result>(
        _ handler: @escaping (_ fired: Bool) throws -> Result
    ) -> ThreadSignalSelectCase<Result> {
        ThreadSignalSelectCase(signal: self, handler: handler)
    }

    /// Takes the fire if the signal is set: true; false when closed; nil when neither.
    @usableFromInline
    func takeFireForSelect() -> Bool? {
        state.withLock { state -> Bool? in
            if state.signaled {
                state.signaled = false
                readyHint.store(false, ordering: .relaxed)
                return true
            }
            return state.closed ? false : nil
        }
    }

    /// Registers a select's case: completes it now when the signal is set or closed (if the
    /// select is still undecided), else queues it with the waiting tasks.
    @usableFromInline
    func registerSelect(_ waiter: _SelectWaiter, case index: Int) {
        let id = nextWaiterID.wrappingAdd(1, ordering: .relaxed).oldValue
        let claimed = state.withLock { state -> Bool in
            if state.signaled || state.closed {
                let fired = state.signaled
                guard waiter.claim(case: index, payload: fired) else { return false }
                if fired {
                    state.signaled = false
                    readyHint.store(false, ordering: .relaxed)
                }
                return true
            }
            state.waiters.append((id, .select(waiter, case: index)))
            return false
        }
        if claimed { waiter.wake() }
    }

    /// Removes every queued entry of `waiter`.
    @usableFromInline
    func unregisterSelect(_ waiter: _SelectWaiter) {
        state.withLock { state in
            var index = state.waiterHead
            while index < state.waiters.count {
                if case .select(let entry, _) = state.waiters[index].waiter, entry === waiter {
                    state.waiters.remove(at: index)
                } else {
                    index += 1
                }
            }
        }
    }
}

/// A ``ThreadSignal`` in a select: made by ``ThreadSignal/onFire(_:)``.
public struct ThreadSignalSelectCase<Result>: SelectCase {
    @usableFromInline let signal: ThreadSignal
    @usableFromInline let handler: (Bool) throws -> Result

    @inlinable
    init(signal: ThreadSignal, handler: @escaping (Bool) throws -> Result) {
        self.signal = signal
        self.handler = handler
    }

    /// Takes a fire, or sees the closure, without waiting.
    @inlinable
    public func _poll() throws -> Result? {
        guard let fired = signal.takeFireForSelect() else { return nil }
        return try handler(fired)
    }

    /// Queues the select with the signal's waiters.
    @inlinable
    public func _register(_ waiter: _SelectWaiter, as index: Int) {
        signal.registerSelect(waiter, case: index)
    }

    /// Removes the select from the signal's waiters.
    @inlinable
    public func _unregister(_ waiter: _SelectWaiter) {
        signal.unregisterSelect(waiter)
    }

    /// Runs the handler with whether the signal fired (false: closed).
    @inlinable
    public func _complete(_ waiter: _SelectWaiter) throws -> Result {
        try handler(waiter.takePayload() as? Bool ?? false)
    }
}
