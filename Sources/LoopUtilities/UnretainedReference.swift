/// Runs `body` with the object `reference` points to, without retaining it: for a hot path
/// that already knows the object is alive (a loop thread reading its own dispatcher, an
/// endpoint's `deinit` reaching the storage it still holds).
///
/// The caller guarantees that something else keeps the object alive for the whole call.
/// Wraps the standard library's underscored `Unmanaged._withUnsafeGuaranteedRef`, checked
/// on Swift 6.3.1; if it goes away, `body(reference.takeUnretainedValue())` does the same
/// at the cost of one retain/release pair.
@inlinable
@inline(__always)
package func withUnretainedReference<Object: AnyObject, Result>(
    _ reference: Unmanaged<Object>,
    _ body: (Object) -> Result
) -> Result {
    reference._withUnsafeGuaranteedRef(body)
}
