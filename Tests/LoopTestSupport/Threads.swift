import Glibc
import LoopUtilities

/// How much to scale stress tests: `LOOPCHANNELS_STRESS=1` gives the full size (factor
/// 100 unless the variable holds a larger number); unset gives the quick size (factor 1).
public var stressFactor: Int {
    guard let raw = getenv("LOOPCHANNELS_STRESS") else { return 1 }
    let value = Int(String(cString: raw)) ?? 1
    return value <= 1 ? 100 : value
}

/// Runs `body` on each of `count` plain threads at once and waits for all of them.
public func onPlainThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
    let threads = (0..<count).map { index in PlainThread { body(index) } }
    for thread in threads { await thread.join() }
}
