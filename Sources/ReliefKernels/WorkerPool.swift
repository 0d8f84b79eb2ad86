import CReliefSIMD
import Dispatch
import Foundation
import Synchronization

/// Worker threads that wait for the next parallel loop by spinning, so a loop starts on all cores
/// within a microsecond instead of the tens to hundreds of microseconds a sleeping thread takes to
/// wake: on this project's 2-vCPU virtual machines, `DispatchQueue.concurrentPerform` with two
/// 19 µs parts took 50 µs, slower than one thread (`bench/micro/handoff.swift`). An inference runs
/// one loop per layer, microseconds apart at batch 1.
///
/// A worker that has had no part to run for `spinNanoseconds` sleeps until a loop needs it, so an
/// idle process does not hold a core and workers left over from a loop with more parts do not spin
/// beside smaller loops. One loop runs at a time: a caller that finds the pool in use (another
/// thread's inference, or a loop inside a part) gets `false` and runs its loop on Dispatch.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()
    /// How long a worker with nothing to run spins before it sleeps: longer than the gaps between an
    /// inference's layers and between the inferences of a batch loop.
    static let spinNanoseconds: UInt64 = 2_000_000
    /// Most parts one loop takes (the part count lives in the low byte of `state`).
    static let maxParts = 64

    /// One worker thread's sleep: `asleep` is set by the worker before its last look at `state`, and
    /// cleared by whichever of the worker and a loop's owner gets to it first; the owner then posts
    /// `wake`.
    private final class Sleep: Sendable {
        let asleep = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    /// The current loop: its generation (counts loops) shifted left 8, or'ed with its part count.
    private let state = Atomic<UInt64>(0)
    /// Parts of the current loop that workers have finished.
    private let finished = Atomic<Int>(0)
    /// Whether a loop owns the pool.
    private let busy = Atomic<Bool>(false)
    /// The current loop's body: written only by the owner of `busy` before it publishes `state`,
    /// read by workers whose part index is below the part count, which the owner waits for.
    private var job: ((Int) -> Void)?
    /// Worker p - 1 runs part p; only the owner of `busy` reads or changes the array.
    private var sleeps: [Sleep] = []

    /// Calls `body(p)` for every p in 0 ..< parts at once, part 0 on the calling thread, and waits.
    /// Returns false without calling anything when the pool is in use or `parts` is out of range.
    func run(parts: Int, _ body: (Int) -> Void) -> Bool {
        guard parts >= 2, parts <= Self.maxParts,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        defer { busy.store(false, ordering: .releasing) }
        let generation = (state.load(ordering: .relaxed) >> 8) + 1
        while sleeps.count < parts - 1 {
            sleeps.append(Sleep())
            start(index: sleeps.count, sleep: sleeps[sleeps.count - 1], seen: generation - 1)
        }
        withoutActuallyEscaping(body) { body in
            job = body
            finished.store(0, ordering: .relaxed)
            // Sequentially consistent with each worker's `asleep`: either this sees a worker going to
            // sleep and wakes it, or that worker sees this loop before it sleeps.
            state.store(generation << 8 | UInt64(parts), ordering: .sequentiallyConsistent)
            for sleep in sleeps[0..<(parts - 1)] where sleep.asleep.exchange(false, ordering: .sequentiallyConsistent) {
                sleep.wake.signal()
            }
            body(0)
            var spins = 0
            while finished.load(ordering: .acquiring) < parts - 1 { Self.relax(&spins) }
            job = nil
        }
        return true
    }

    /// One step of a spin-wait, and every 64th a `sched_yield`: when the scheduler has put a waiting
    /// thread on the same core as the one it waits for (seen on these VMs, now and then for a whole
    /// process), a pure spin would hold that core for its whole time slice. With the yields, an
    /// inference-like loop of 20 hand-offs ran 0.37 ms with both threads forced onto one core, 160 ms
    /// without (`taskset -c 0`), and unchanged with a core each.
    @inline(__always)
    private static func relax(_ spins: inout Int) {
        relief_cpu_relax()
        spins += 1
        if spins & 63 == 0 { sched_yield() }
    }

    private func start(index: Int, sleep: Sleep, seen: UInt64) {
        let thread = Thread { [self] in
            // The system thread's name (ps, gdb, tests): Foundation's `Thread.name` does not set it here.
            relief_set_thread_name("relief-pool-\(index)")
            work(index: index, sleep: sleep, seen: seen)
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func work(index: Int, sleep: Sleep, seen first: UInt64) {
        var seen = first
        // More threads than cores (a loop of more parts than the machine has): the extra workers
        // sleep between loops rather than spin, which would take the cores from the working threads.
        let spinTime = index < ProcessInfo.processInfo.activeProcessorCount ? Self.spinNanoseconds : 0
        var deadline = DispatchTime.now().uptimeNanoseconds + spinTime
        while true {
            let current = next(after: seen, until: deadline, sleep: sleep)
            seen = current >> 8
            // Loops with fewer parts pass this worker by; its spin time counts from its last part.
            guard index < Int(current & 0xff) else { continue }
            job!(index)
            finished.add(1, ordering: .releasing)
            deadline = DispatchTime.now().uptimeNanoseconds + spinTime
        }
    }

    /// Waits for a loop newer than generation `seen`: spinning until `deadline`, then asleep.
    private func next(after seen: UInt64, until deadline: UInt64, sleep: Sleep) -> UInt64 {
        var spins = 0
        while spins & 1023 != 0 || DispatchTime.now().uptimeNanoseconds < deadline {
            let current = state.load(ordering: .acquiring)
            if current >> 8 != seen { return current }
            Self.relax(&spins)
        }
        while true {
            sleep.asleep.store(true, ordering: .sequentiallyConsistent)
            let current = state.load(ordering: .sequentiallyConsistent)
            if current >> 8 != seen {
                // A loop came first. If its owner already took the flag, it posts (or has posted) a
                // wake that must be consumed here, or the next sleep would return at once.
                if !sleep.asleep.exchange(false, ordering: .sequentiallyConsistent) { sleep.wake.wait() }
                return current
            }
            sleep.wake.wait()
            // A wake can be late: the owner of a loop this worker has already run (seen through
            // `state` before its owner got to the flag) finds the flag of the next sleep. Then the
            // generation is still `seen`, and the worker sleeps again.
            let woken = state.load(ordering: .acquiring)
            if woken >> 8 != seen { return woken }
        }
    }
}
