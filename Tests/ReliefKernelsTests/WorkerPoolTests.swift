import CReliefSIMD
import Dispatch
import Foundation
import ReliefKernels
import Synchronization
import Testing

/// `Parallel.run` on the spinning worker pool: every part runs exactly once, on the pool's workers
/// when it is free, after the workers have gone to sleep, and when loops come from several threads
/// at once or from inside a part (those fall back to Dispatch).
@Suite(.serialized, .timeLimit(.minutes(2))) struct WorkerPoolTests {
    /// Runs one loop of `parts` parts; returns how often each part ran and whether parts 1... ran on
    /// the pool's workers (threads named `relief-pool-<part>`).
    static func loop(parts: Int, inside: ((Int) -> Void)? = nil) -> (counts: [Int], onWorkers: Bool) {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: parts)
        counts.initialize(repeating: 0, count: parts)
        defer { counts.deallocate() }
        let names = UnsafeMutablePointer<String>.allocate(capacity: parts)
        names.initialize(repeating: "", count: parts)
        defer { names.deinitialize(count: parts); names.deallocate() }
        Parallel.run(parts: parts) { p in
            counts[p] += 1
            var name = [CChar](repeating: 0, count: 32)
            _ = relief_thread_name(&name, name.count)
            names[p] = String(cString: name)
            inside?(p)
        }
        let onWorkers = (1..<parts).allSatisfy { names[$0] == "relief-pool-\($0)" }
        return (Array(UnsafeBufferPointer(start: counts, count: parts)), onWorkers)
    }

    @Test func everyPartRunsOnceOnTheWorkers() {
        // Up to the cores and past them (the workers beyond the cores sleep between loops).
        for parts in [2, 3, 4, 9] {
            var pooled = false
            let deadline = Date().addingTimeInterval(5)
            var rounds = 0
            // Loops of other suites, run at the same time, may hold the pool for a while (these then
            // run on Dispatch), but not for seconds.
            while rounds < 40 || (!pooled && Date() < deadline) {
                let (counts, onWorkers) = Self.loop(parts: parts)
                #expect(counts == [Int](repeating: 1, count: parts), "parts \(parts)")
                pooled = pooled || onWorkers
                rounds += 1
            }
            #expect(pooled, "no loop of \(parts) parts ran on the pool's workers")
        }
    }

    @Test func sleepingWorkersWakeForTheNextLoop() {
        for _ in 0..<3 {
            #expect(Self.loop(parts: 2).counts == [1, 1])
            // Past the spin time: the workers are asleep on their condition.
            Thread.sleep(forTimeInterval: 0.01)
            #expect(Self.loop(parts: 3).counts == [1, 1, 1])
        }
    }

    @Test func loopsFromSeveralThreadsAndFromInsidePartsAllComplete() {
        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for round in 0..<50 {
                let parts = 2 + (i + round) % 4
                let (counts, _) = Self.loop(parts: parts) { p in
                    // A loop inside a part: the pool is taken, so it runs on Dispatch.
                    if p == 1 {
                        let inner = Self.loop(parts: 2).counts
                        total.add(inner == [1, 1] ? 2 : 1000, ordering: .relaxed)
                    }
                    total.add(1, ordering: .relaxed)
                }
                #expect(counts == [Int](repeating: 1, count: parts))
            }
        }
        // Every outer part once, plus the two inner parts of each outer loop.
        let expected = (0..<8).reduce(0) { sum, i in sum + (0..<50).reduce(0) { $0 + 2 + (i + $1) % 4 + 2 } }
        #expect(total.load(ordering: .relaxed) == expected)
    }
}
