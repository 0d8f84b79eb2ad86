// What handing a loop to a second thread costs here: one thread running a part of N iterations of a
// dependent multiply-add chain, against two parts of N at once, started with
// `DispatchQueue.concurrentPerform` (whose idle workers sleep) and with a minimal spinning hand-off
// (a worker that waits for a generation counter, the scheme of Sources/ReliefKernels/WorkerPool.swift).
// Ideal for two parts is the one-part time. Medians and 90th percentiles of 1000 loops.
//   swiftc -O bench/micro/handoff.swift -o /tmp/handoff && /tmp/handoff
import Dispatch
import Foundation
import Synchronization

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

@inline(never) func chain(_ n: Int, _ seed: Double) -> Double {
    var x = seed
    for _ in 0..<n { x = x * 1.000_000_1 + 0.5 }
    return x
}

/// Per-part results, a cache line apart.
final class Results: @unchecked Sendable {
    var values = [Double](repeating: 0, count: 64)
}

/// One spinning worker running part 1 of each loop.
final class SpinningWorker: @unchecked Sendable {
    let generation = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    var job: (@Sendable (Int) -> Void)?

    init() {
        Thread { [self] in
            var seen = 0
            while true {
                var g = generation.load(ordering: .acquiring)
                while g == seen { g = generation.load(ordering: .acquiring) }
                seen = g
                job!(1)
                done.add(1, ordering: .releasing)
            }
        }.start()
    }

    func run(_ body: @escaping @Sendable (Int) -> Void) {
        job = body
        done.store(0, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        body(0)
        while done.load(ordering: .acquiring) < 1 {}
    }
}

func stats(_ t: [UInt64]) -> String {
    let s = t.sorted()
    return String(format: "median %7.1f µs  p90 %7.1f µs", Double(s[s.count / 2]) / 1e3, Double(s[s.count * 9 / 10]) / 1e3)
}

let results = Results()
let worker = SpinningWorker()
print("iterations per part   one thread, one part              two parts, concurrentPerform      two parts, spinning worker")
for n in [1_000, 10_000, 100_000] {
    var one: [UInt64] = [], dispatch: [UInt64] = [], spinning: [UInt64] = []
    for k in 0..<1000 {
        let seed = Double(k)
        var t = now()
        results.values[0] += chain(n, seed)
        one.append(now() - t)
        t = now()
        DispatchQueue.concurrentPerform(iterations: 2) { p in results.values[16 * p] += chain(n, seed) }
        dispatch.append(now() - t)
        t = now()
        worker.run { p in results.values[16 * p] += chain(n, seed) }
        spinning.append(now() - t)
    }
    print(String(format: "%-21d ", n) + stats(one) + "   " + stats(dispatch) + "   " + stats(spinning))
}
if results.values[0] == 42 { print("") }  // keeps the work observable
