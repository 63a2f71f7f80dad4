import EventLoop
import Glibc
import Synchronization

let loop = try LoopThread(name: "demo-loop")
let d = loop.dispatcher
let r = await Task(executorPreference: d) { () -> Bool in d.inLoop }.value
print("inLoop in task:", r)
let counter = Atomic<Int>(0)
let signal = try ThreadSignal()
let t0 = ContinuousClock.now
let waiter = Task(executorPreference: d) {
    for _ in 0..<10000 { try await signal.wait() }
    return counter.load(ordering: .relaxed)
}
print("sleep test")
let s0 = ContinuousClock.now
try await d.sleep(for: .milliseconds(20))
print("slept", ContinuousClock.now - s0)
// plain thread fires
var th = pthread_t()
final class Box: @unchecked Sendable { let s: ThreadSignal; init(_ s: ThreadSignal) { self.s = s } }
let box = Unmanaged.passRetained(Box(signal)).toOpaque()
pthread_create(&th, nil, { p in
    let b = Unmanaged<Box>.fromOpaque(p!).takeRetainedValue()
    for _ in 0..<10000 { b.s.fire(); usleep(1) }
    return nil
}, box)
print("waiting", try await waiter.value, ContinuousClock.now - t0)
pthread_join(th, nil)
print(d.counters)
loop.shutdown()
