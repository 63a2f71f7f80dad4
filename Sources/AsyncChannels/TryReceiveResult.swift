/// What a receive that does not wait found: an element, an empty channel that is still
/// open, or a channel that is closed and drained (crossbeam's `TryRecvError::Empty` and
/// `Disconnected`).
///
/// Returned by ``AsyncChannel/tryReceiveResult()`` and
/// ``BoundedAsyncChannel/tryReceiveResult()``, which tell the two kinds of "nothing" apart in
/// one step, without a second, racing look at `isClosed`.
@frozen
public enum TryReceiveResult<Element> {
    /// The oldest element, now removed from the channel.
    case element(Element)
    /// Nothing queued now; the channel is open, so an element may still come.
    case empty
    /// The channel is closed and drained: no element will ever come.
    case closed

    /// The element, or nil for ``empty`` and ``closed``.
    @inlinable
    public var element: Element? {
        if case .element(let element) = self { return element }
        return nil
    }
}

extension TryReceiveResult: Sendable where Element: Sendable {}
extension TryReceiveResult: Equatable where Element: Equatable {}
extension TryReceiveResult: Hashable where Element: Hashable {}
