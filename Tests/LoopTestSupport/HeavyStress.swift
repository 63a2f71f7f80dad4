import Glibc
import LoopUtilities
public import Testing

/// The trait of the heaviest stress tests: at stress size (`LOOPCHANNELS_STRESS` set) each
/// of their test cases runs alone among the heavy ones in this process, so that its time
/// limit and its checks measure it rather than its neighbours, and two of them never share
/// the machine's cores. At the quick size it changes nothing: the suite stays parallel.
///
/// Time limits still count from the start of a test case, waiting for its turn included:
/// give a heavy test (and its suite) ``Trait/stressTimeLimit`` rather than a fixed one.
public struct HeavyStressTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    /// Gates test cases only: a suite that carries the trait passes it on to its tests
    /// without holding the turn itself (which would keep its own tests waiting).
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil || stressFactor <= 1 ? nil : self
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await heavyStressTurn.acquire()
        defer { heavyStressTurn.release() }
        try await function()
    }
}

extension Trait where Self == HeavyStressTrait {
    /// Runs each test case alone among the heavy ones at stress size; see ``HeavyStressTrait``.
    public static var heavyStress: Self { HeavyStressTrait() }
}

extension Trait where Self == TimeLimitTrait {
    /// One minute at the quick size; see ``stressTimeLimit(quick:)``.
    public static var stressTimeLimit: Self { stressTimeLimit(quick: 1) }

    /// `quick` minutes at the quick size; at stress size at least thirty, which covers a
    /// heavy test's wait for its turn as well as its run; under a sanitizer at least five,
    /// because the whole parallel suite then takes about a minute on two cores and a test
    /// may wait most of it for a thread. (A test's shortest time limit wins, so its suite
    /// needs one of these too.)
    public static func stressTimeLimit(quick: Int) -> Self {
        if stressFactor > 1 { return .timeLimit(.minutes(max(quick, 30))) }
        return .timeLimit(.minutes(runsUnderSanitizer ? max(quick, 5) : quick))
    }
}

/// One turn at a time, handed to waiters in arrival order.
private final class Turn: Sendable {
    private struct State {
        var taken = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = LockedValue(State())

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mine = state.withLock { state -> Bool in
                if state.taken {
                    state.waiters.append(continuation)
                    return false
                }
                state.taken = true
                return true
            }
            if mine { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.taken = false
                return nil
            }
            return state.waiters.removeFirst()  // the turn passes straight to it
        }
        next?.resume()
    }
}

private let heavyStressTurn = Turn()

/// True when the process runs with the address or thread sanitizer, whose runtimes export
/// `__asan_init` / `__tsan_init`.
private let runsUnderSanitizer: Bool = {
    let handle = dlopen(nil, RTLD_NOW)
    defer { if let handle { dlclose(handle) } }
    return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
}()
