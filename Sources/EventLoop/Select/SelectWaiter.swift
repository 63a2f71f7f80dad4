public import LoopUtilities
public import Synchronization

/// The one object a blocking ``select(biased:_:)`` or ``selectSync(biased:_:)`` allocates:
/// the token its cases register with their sources, which decides, exactly once, how the
/// select ends. An implementation detail of the select cases; not for use outside the
/// package's modules.
///
/// ## The outcome
/// `outcome` moves once from `undecided` to a final value: a case's index (that case's
/// operation took effect), `cancelled` or `timedOut`. A source that would complete a case
/// (hand it an element, take its element, give it a fire) first claims the waiter; if the
/// claim fails, the select already ended another way, so the source leaves the entry and
/// serves the next waiter, and the operation does not happen (Go's `selectDone`). So at most
/// one case's operation ever takes effect, and losers take nothing.
///
/// A source that must look at its contents after the claim (the unbounded channel pops
/// without its lock, so an element seen may be gone) claims in two steps:
/// ``beginClaim()`` moves `undecided` to `busy`, then ``finishClaim(case:payload:)`` or
/// ``abandonClaim()``. Other claimers spin while `busy`. A busy claim is held only around
/// one operation on one source, never while waiting for anything else, except that a
/// rendezvous between two selects, and a select that registers where a waiting select is
/// its counterpart, claim both waiters in address order (``claimTogether(with:)``); so no
/// cycle of spinners can form.
///
/// ## The wake
/// The winner's source (or the timer, or the cancellation handler) calls ``wake()`` once,
/// after the claim. The select may not have suspended yet (it registers its cases before it
/// suspends): ``wake()`` and ``publish(_:)`` meet on `wakeState`, and whichever comes second
/// resumes the continuation. A plain thread in `selectSync` parks until `wakeState` says
/// woken.
public final class _SelectWaiter: @unchecked Sendable {
    // @unchecked Sendable: `continuation` is written once by the selecting task before its
    // releasing exchange on `wakeState` and read only by the party whose exchange saw it
    // published; `payload` is written only by the claim's winner between `beginClaim` and
    // the releasing store of `finishClaim`, and read by the selecting side after an
    // acquiring load of the outcome.

    @usableFromInline static let undecided: UInt = 0
    @usableFromInline static let busy: UInt = 1
    @usableFromInline static let cancelled: UInt = 2
    @usableFromInline static let timedOut: UInt = 3
    @usableFromInline static let firstCase: UInt = 4

    /// The outcome; see the type's comment.
    @usableFromInline let state = Atomic<UInt>(0)

    @usableFromInline static let unpublished: UInt8 = 0
    @usableFromInline static let published: UInt8 = 1
    @usableFromInline static let woken: UInt8 = 2

    /// Where the wake meets the suspension: `unpublished`, `published` (the continuation is
    /// there), `woken` (a wake came).
    @usableFromInline let wakeState = Atomic<UInt8>(0)

    /// The suspended select's continuation; see `wakeState`.
    @usableFromInline @exclusivity(unchecked) var continuation: UnsafeContinuation<Void, Never>?

    /// What the winning case's source handed over: the received element (nil when the
    /// source was closed), or whether a send or a fire went through.
    @usableFromInline @exclusivity(unchecked) var payload: Any?

    /// The parker of a plain thread in `selectSync`; nil for a task.
    let parker: ThreadParker?

    @usableFromInline
    init(blocksThread: Bool) {
        parker = blocksThread ? ThreadParker() : nil
    }

    // MARK: Claims

    /// Whether the select has ended, for a registration loop that stops registering once
    /// the outcome is known. Waits out a busy claim, which may still be abandoned: stopping
    /// then would leave sources unregistered. Relaxed: a stale "undecided" costs one needless
    /// registration, which the claim then refuses.
    @inlinable
    package var isDecided: Bool {
        var backoff = Backoff()
        while true {
            let current = state.load(ordering: .relaxed)
            if current != Self.busy { return current != Self.undecided }
            backoff.snooze()
        }
    }

    /// Moves `undecided` to `outcome` in one step, for a claim whose payload (if any) is
    /// known before it: a timer, a cancellation, a close, a single-consumer source. Spins
    /// while another claim is busy. True when this call decided the select.
    @inlinable
    package func claim(_ outcome: UInt, payload: Any? = nil) -> Bool {
        guard beginClaim() else { return false }
        self.payload = payload
        // Releasing: publishes the payload to the select's acquiring load of the outcome.
        state.store(outcome, ordering: .releasing)
        return true
    }

    /// Claims case `index` with its payload in one step; see ``claim(_:payload:)``.
    @inlinable
    package func claim(case index: Int, payload: Any?) -> Bool {
        claim(Self.firstCase + UInt(index), payload: payload)
    }

    /// First half of a two-step claim: moves `undecided` to `busy`, spinning while someone
    /// else is busy. True when the caller now holds the claim and must end it with
    /// ``finishClaim(case:payload:)`` or ``abandonClaim()`` without waiting for anything.
    @inlinable
    package func beginClaim() -> Bool {
        var backoff = Backoff()
        while true {
            // Acquiring: a claimer that wins sees what the select wrote before it registered
            // (its continuation is published separately, on `wakeState`). Relaxed on failure
            // is enough: a loser only reads the value.
            let (exchanged, original) = state.compareExchange(
                expected: Self.undecided,
                desired: Self.busy,
                successOrdering: .acquiring,
                failureOrdering: .relaxed
            )
            if exchanged { return true }
            if original != Self.busy { return false }
            backoff.snooze()
        }
    }

    /// Second half of a two-step claim: case `index` won, with `payload`.
    @inlinable
    package func finishClaim(case index: Int, payload: Any?) {
        self.payload = payload
        // Releasing: publishes the payload to the select's acquiring load of the outcome.
        state.store(Self.firstCase + UInt(index), ordering: .releasing)
    }

    /// Gives a busy claim back: the operation it was for could not happen after all (the
    /// element it saw was taken by a receive that needs no lock). The select is undecided
    /// again, as if nothing had happened.
    @inlinable
    package func abandonClaim() {
        // Releasing: pairs with the acquiring CAS of the next claimer, like a lock's unlock.
        state.store(Self.undecided, ordering: .releasing)
    }

    /// How ``claimTogether(with:)`` ended.
    public enum _PairClaim: Sendable {
        /// Both claims are held (busy).
        case both
        /// This select has ended: neither claim is held.
        case selfEnded
        /// The other select has ended: neither claim is held.
        case otherEnded
    }

    /// Begins the claims of this select and `other` together, for a rendezvous between two
    /// selects: in address order, so that two parties claiming the same two selects cannot
    /// wait for each other. On failure neither claim is held.
    @inlinable
    package func claimTogether(with other: _SelectWaiter) -> _PairClaim {
        if ObjectIdentifier(self) < ObjectIdentifier(other) {
            guard beginClaim() else { return .selfEnded }
            guard other.beginClaim() else {
                abandonClaim()
                return .otherEnded
            }
        } else {
            guard other.beginClaim() else { return .otherEnded }
            guard beginClaim() else {
                other.abandonClaim()
                return .selfEnded
            }
        }
        return .both
    }

    /// The final outcome, read by the select once it is woken. Acquiring: pairs with the
    /// releasing store of the claim, so the payload is visible.
    @inlinable
    var outcome: UInt { state.load(ordering: .acquiring) }

    /// Takes the winner's payload. Only the selecting side, after it read the outcome.
    @inlinable
    package func takePayload() -> Any? {
        let taken = payload
        payload = nil
        return taken
    }

    // MARK: Wake

    /// Wakes the select after a successful claim: resumes its continuation if it is
    /// suspended already, else makes its suspension return at once; or unparks its thread.
    /// Called once, by the claim's winner, outside any lock.
    @usableFromInline
    package func wake() {
        // Acquiring: if the continuation is published, we read it; releasing: the select
        // that publishes after this sees our claim (and its payload).
        let old = wakeState.exchange(Self.woken, ordering: .acquiringAndReleasing)
        if let parker {
            parker.unpark()
        } else if old == Self.published {
            let continuation = self.continuation.unsafelyUnwrapped
            self.continuation = nil
            resumeHidingRuntimeReads(continuation)
        }
    }

    /// The select's side of the meeting: publishes its continuation, or resumes it at once
    /// when a wake already came. Called once, inside `withUnsafeContinuation`.
    @inlinable
    func publish(_ continuation: UnsafeContinuation<Void, Never>) {
        self.continuation = continuation
        // Releasing: the waker that sees `published` reads the continuation; acquiring: if
        // the wake came first, its claim is visible.
        if wakeState.exchange(Self.published, ordering: .acquiringAndReleasing) == Self.woken {
            self.continuation = nil
            continuation.resume()
        }
    }

    /// Whether a wake came; for a thread in `selectSync`. Acquiring: pairs with ``wake()``.
    @inlinable
    var isWoken: Bool { wakeState.load(ordering: .acquiring) == Self.woken }
}
