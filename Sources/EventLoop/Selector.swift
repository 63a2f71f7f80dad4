/// What a descriptor wait asks the selector to watch for.
struct Interest: OptionSet, Sendable {
    let rawValue: UInt8

    static let readable = Interest(rawValue: 1 << 0)
    static let writable = Interest(rawValue: 1 << 1)
}

/// What the selector reports for one descriptor, decoded from the platform's event bits.
///
/// An error or a hang-up makes the descriptor both readable and writable: the waiting
/// task's next read or write returns the error or the end of file.
struct Readiness: OptionSet, Sendable {
    let rawValue: UInt8

    static let readable = Readiness(rawValue: 1 << 0)
    static let writable = Readiness(rawValue: 1 << 1)
}

/// The per-descriptor state a selector keeps for the dispatcher. The dispatcher stores it
/// in the descriptor's registration, starts it as `init()` and passes it to the selector's
/// calls; it reads nothing of it but `isWatched`.
protocol SelectorEntry {
    init()

    /// Whether the selector still holds the descriptor (armed, or disarmed after its one
    /// event). The dispatcher keeps the registration of such a descriptor even when no task
    /// waits, so that the next wait re-arms it instead of adding it anew.
    var isWatched: Bool { get }
}

/// The interface between a dispatcher and its platform's readiness mechanism: the one place
/// that knows the platform's event bits, its interest set and its system calls. The
/// dispatcher speaks only of interests, readiness and waiting tasks.
///
/// Threads: `wake()` is callable from any thread; everything else runs on the loop thread
/// only (`close()`: in the dispatcher's deinit, when no other reference is left).
///
/// Errors are `LoopError`s that name the platform's call (`epoll_ctl`, `fstat`…), the
/// descriptor and the errno.
protocol Selector: AnyObject, Sendable {
    associatedtype Entry: SelectorEntry

    /// Creates the selector and its wake mechanism.
    /// - Throws: `LoopError` with code `systemCall` when a descriptor cannot be created.
    init() throws(LoopError)

    /// Any thread: makes a blocked `wait(timeoutNanoseconds:_:)`, or the next one, return.
    func wake()

    /// Loop thread: blocks until a watched descriptor is ready, `wake()` is called or
    /// `timeoutNanoseconds` pass (< 0: no timeout; 0: polls), then hands each ready descriptor
    /// to `handle`. An interrupted wait returns with no events. Consumes the wake.
    func wait(timeoutNanoseconds: Int64, _ handle: (Int32, Readiness) -> Void)

    /// Loop thread: watches `fd` for one readiness event of `interest` (one-shot: after
    /// reporting it once, the descriptor stays watched but reports nothing until armed
    /// again). Arming a watched descriptor replaces its interest. Also records what `fd`
    /// names, for `verify(_:_:)`.
    /// - Throws: `LoopError` with code `badDescriptor` when the descriptor is closed or
    ///   cannot be watched (a regular file: `EPERM`).
    func arm(_ fd: Int32, for interest: Interest, _ entry: inout Entry) throws(LoopError)

    /// Loop thread: stops watching `fd` (no-op unless `SelectorEntry.isWatched`).
    func forget(_ fd: Int32, _ entry: inout Entry)

    /// Loop thread: checks that `fd` still names the open file it named when it was armed.
    /// A descriptor closed behind the loop's back leaves the interest set silently, so its
    /// waiting tasks would never hear of it; the dispatcher calls this now and then.
    /// - Throws: `LoopError` with code `badDescriptor` when `fd` is closed or now names
    ///   another file (errno `EBADF`).
    func verify(_ fd: Int32, _ entry: Entry) throws(LoopError)

    /// Closes the selector's descriptors. Called once, from the dispatcher's deinit.
    func close()
}

#if os(Linux)
    /// The selector the dispatcher uses on this platform.
    typealias PlatformSelector = EpollSelector
#else
    #error("EventLoop has a selector for Linux (epoll) only")
#endif
