// shared-buffer: large payloads cross threads as handles to pooled buffers, not as bytes.
//
// Producer threads fill buffers leased from a BufferPool and send only a BufferTicket through
// an AsyncChannel; a task on a LoopThread claims each ticket, checks every byte, and drops the
// lease, which returns the buffer to the pool. The same payloads sent as [UInt8] copies give
// the comparison. See SharedBuffer.swift for how ownership is handed over and checked.
import EventLoop
import Glibc

let usage = """
    usage: shared-buffer [--mib N] [--reps N] [--producers N] [--in-flight N]
           shared-buffer --self-test
      Measures MB/s for 64 KiB and 4 MiB payloads sent as pooled-buffer handles and as [UInt8] copies.
      --mib N         payload data per trial in MiB (default 512)
      --reps N        trials per configuration; the median is reported (default 5)
      --producers N   producer threads (default 1)
      --in-flight N   pooled buffers, and the copy channel's capacity (default 8)
      --self-test     check every byte, every sequence number and the pool; exit 0 only if all pass
      --help          this text
    Build with -c release for meaningful figures; debug builds measure the byte loops.
    """

var arguments = CommandLine.arguments.dropFirst()[...]
var megabytes = 512
var repetitions = 5
var producers = 1
var inFlight = 8
var selfTest = false
while let argument = arguments.popFirst() {
    func number() -> Int {
        guard let text = arguments.popFirst(), let value = Int(text), value > 0 else {
            writeError("shared-buffer: \(argument) needs a positive number\n\(usage)\n")
            exit(2)
        }
        return value
    }
    switch argument {
    case "-h", "--help":
        print(usage)
        exit(0)
    case "--self-test": selfTest = true
    case "--mib": megabytes = number()
    case "--reps": repetitions = number()
    case "--producers": producers = number()
    case "--in-flight": inFlight = number()
    default:
        writeError("shared-buffer: unknown option \(argument)\n\(usage)\n")
        exit(2)
    }
}

let loop = try LoopThread(name: "consumer-loop")
defer { loop.shutdown() }

if selfTest {
    let passed = try await runSelfTest(on: loop.dispatcher)
    print(passed ? "self-test passed" : "self-test FAILED")
    exit(passed ? 0 : 1)
}

let sizes = [64 << 10, 4 << 20]
print(
    "shared-buffer: \(producers) producer thread(s) -> 1 loop task, \(inFlight) payloads in flight, "
        + "\(megabytes) MiB per trial, median of \(repetitions)")
var rates: [Int: [Transport: [Double]]] = [:]
var allPassed = true
for _ in 0..<repetitions {
    // Interleaved, so a busy neighbour on the VM slows both transports alike.
    for size in sizes {
        for transport in Transport.allCases {
            let trial = Trial(
                transport: transport, payloadSize: size, payloadCount: max(1, (megabytes << 20) / size),
                producerCount: producers, inFlight: inFlight)
            let outcome = try await trial.run(on: loop.dispatcher)
            allPassed = allPassed && outcome.passed(expecting: trial.payloadCount)
            rates[size, default: [:]][transport, default: []].append(outcome.megabytesPerSecond(payloadSize: size))
        }
    }
}
print("payload    handles MB/s   copies MB/s   handles/copies")
for size in sizes {
    let handles = median(rates[size]![.handles]!)
    let copies = median(rates[size]![.copies]!)
    print(
        pad(size >= 1 << 20 ? "\(size >> 20) MiB" : "\(size >> 10) KiB", 9) + pad(format(handles), 14)
            + pad(format(copies), 14) + pad(format(handles / copies, digits: 2) + "x", 17))
}
if !allPassed {
    writeError("shared-buffer: some payloads arrived damaged or buffers leaked; run --self-test\n")
    exit(1)
}
