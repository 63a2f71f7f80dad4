// loop-demo: plain worker threads and a task on an event loop hand work back and forth.
//
// The loop task submits jobs into an AsyncChannel; plain pthreads take them with the
// blocking `receiveSync`, compute, and answer through a oneshot hatch that the loop task awaits.
// Every answer wakes the loop through its dispatcher's inbox: no polling, no hops.
import AsyncChannels
import EventLoop
import Glibc
import Hatch

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
let jobs = AsyncChannel<Job>()
let workers = startWorkers(count: workerCount, jobs: jobs)
let dispatcher = loop.dispatcher

let started = ContinuousClock.now
let answers = try await Task(executorPreference: dispatcher) { () throws -> [Int] in
    // Submit everything first; each job carries the sending half of its own oneshot.
    var pending: [HatchReceiver<Int>] = []
    for id in 0..<jobCount {
        let (reply, answer) = makeOneshot(of: Int.self)
        try jobs.send(Job(id: id, limit: 2_000 + (id % 50) * 400, reply: reply))
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

jobs.close()
workers.join()
let counters = dispatcher.counters
loop.shutdown()

print("\(jobCount) jobs on \(workerCount) plain threads, answered to one loop task in \(elapsed)")
for id in [0, 1, 10, 25, 49] where id < jobCount {
    print("  job \(id): \(answers[id]) primes below \(2_000 + (id % 50) * 400)")
}
print(
    "loop: \(counters.jobsRun) jobs run, \(counters.epollWaits) epoll waits, \(counters.eventfdWrites) eventfd writes")

if selfTest {
    // Reference: a sieve up to the largest limit, then prefix counts.
    let largest = 2_000 + 49 * 400
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
    let wrong = (0..<jobCount).filter { answers[$0] != below[2_000 + ($0 % 50) * 400] }
    guard answers.count == jobCount, wrong.isEmpty else {
        print("self-test FAILED: \(wrong.count) wrong answers, first at job \(wrong.first ?? -1)")
        exit(1)
    }
    print("self-test passed: \(jobCount) answers checked against a sieve")
}
