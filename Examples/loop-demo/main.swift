// loop-demo: plain worker threads and a task on an event loop hand work back and forth.
//
// The loop task submits jobs to a ThreadPool; its plain threads compute and answer through
// a oneshot hatch each, which the loop task awaits in submission order. Every answer wakes
// the loop through its dispatcher's inbox: no polling, no hops.
import EventLoop
import Glibc
import Hatch
import LoopThreadPool

let arguments = CommandLine.arguments.dropFirst()
if arguments.contains("--help") {
    print(
        """
        usage: loop-demo [--jobs N] [--workers N] [--self-test]
          --jobs N      how many jobs to run (default 2000)
          --workers N   how many plain worker threads (default 4)
          --self-test   check every answer against a sieve and exit 0 only if all match
        """)
    exit(0)
}

func option(_ name: String, default value: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), arguments.index(after: index) < arguments.endIndex,
        let parsed = Int(arguments[arguments.index(after: index)]), parsed > 0
    else { return value }
    return parsed
}

let selfTest = arguments.contains("--self-test")
let jobCount = option("--jobs", default: 2000)
let workerCount = option("--workers", default: 4)

let loop = try LoopThread(name: "demo-loop")
let pool = try ThreadPool(threads: workerCount, name: "demo-worker")
let dispatcher = loop.dispatcher

let started = ContinuousClock.now
let answers = try await Task(executorPreference: dispatcher) { () throws -> [Int] in
    // Submit everything first: `submit` never waits, and each job carries the sending half
    // of its own oneshot, so no task per job is needed to hold its result.
    var pending: [HatchReceiver<Int>] = []
    for id in 0..<jobCount {
        let (reply, answer) = makeOneshot(of: Int.self)
        let jobLimit = limit(forJob: id)
        try pool.submit { _ = try? reply.trySend(countPrimes(below: jobLimit)) }
        pending.append(answer)
    }
    // Await the answers in submission order, on the loop thread.
    var answers: [Int] = []
    for answer in pending {
        precondition(dispatcher.inLoop)
        answers.append(try await answer.receive())
    }
    return answers
}.value
let elapsed = ContinuousClock.now - started

pool.shutdown()
let counters = dispatcher.counters
loop.shutdown()

print("\(jobCount) jobs on \(workerCount) plain threads, answered to one loop task in \(elapsed)")
for id in [0, 1, 10, 25, 49] where id < jobCount {
    print("  job \(id): \(answers[id]) primes below \(limit(forJob: id))")
}
print(
    "loop: \(counters.jobsRun) jobs run, \(counters.epollWaits) epoll waits, \(counters.eventfdWrites) eventfd writes")

if selfTest {
    // Reference: a sieve up to the largest limit, then prefix counts.
    let largest = limit(forJob: 49)
    var composite = [Bool](repeating: false, count: largest + 1)
    var below = [Int](repeating: 0, count: largest + 1)
    var running = 0
    for n in 2...largest {
        below[n] = running
        if !composite[n] {
            running += 1
            var multiple = n * n
            while multiple <= largest {
                composite[multiple] = true
                multiple += n
            }
        }
    }
    let wrong = (0..<jobCount).filter { answers[$0] != below[limit(forJob: $0)] }
    guard answers.count == jobCount, wrong.isEmpty else {
        print("self-test FAILED: \(wrong.count) wrong answers, first at job \(wrong.first ?? -1)")
        exit(1)
    }
    print("self-test passed: \(jobCount) answers checked against a sieve")
}
