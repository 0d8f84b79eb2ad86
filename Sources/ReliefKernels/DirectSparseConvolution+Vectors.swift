/// Which vectors of 8 extended positions the AVX2 path of `DirectSparseConvolution` computes, and
/// where their real outputs go.
///
/// The extended positions of a convolution are laid out like its (padded) input, `rowStride` per
/// row, so a valid 5x5 convolution of a 12x12 plane has 8 real outputs in every 12 positions of its
/// first 8 rows and none in the last 4: computing every position would do 144 positions' work for 64
/// outputs. Instead the output rows are covered greedily from left to right with vectors of 8 (each
/// starting at the first real output not yet covered), so a vector holds at least one real output and
/// rows of `ow` a multiple of 8 waste nothing; where rows are nearly as wide as the stride (padded
/// layouts) the vectors come out consecutive, as whole-plane chunks were.
struct VectorCover {
    /// Vector v covers extended positions starts[v] ..< starts[v] + 8.
    let starts: UnsafeMutablePointer<Int32>
    /// Run r copies acc[from[r] ..< from[r] + length[r]] of its chunk to output index to[r] (within a
    /// filter's `[B][OH·OW]` output, or its plane of a padded layout).
    let from: UnsafeMutablePointer<Int32>
    let to: UnsafeMutablePointer<Int32>
    let length: UnsafeMutablePointer<Int32>
    /// Chunk c's runs are chunkRuns[c] ..< chunkRuns[c + 1]; its vectors c·vectorsPerChunk ..< .
    let chunkRuns: UnsafeMutablePointer<Int32>
    var vectors = 0, runs = 0, chunks = 0

    static func maxVectors(batch: Int, outHeight oh: Int, outWidth ow: Int) -> Int { batch * oh * ((ow + 7) / 8) }

    /// Bytes of scratch for a cover of these outputs (chunks of at least 8 vectors).
    static func bytes(batch: Int, outHeight oh: Int, outWidth ow: Int) -> Int {
        let vectors = maxVectors(batch: batch, outHeight: oh, outWidth: ow)
        return 4 * (vectors + 3 * (vectors + batch * oh) + vectors / 8 + 2)
    }

    /// Whether every index fits the 32-bit fields.
    static func fits(extended: Int, outputs: Int) -> Bool { extended + 8 < Int(Int32.max) && outputs < Int(Int32.max) }

    init(scratch: UnsafeMutableRawPointer, batch: Int, outHeight oh: Int, outWidth ow: Int) {
        let vectors = Self.maxVectors(batch: batch, outHeight: oh, outWidth: ow), runs = vectors + batch * oh
        let words = scratch.bindMemory(to: Int32.self, capacity: vectors + 3 * runs + vectors / 8 + 2)
        starts = words
        from = words + vectors
        to = from + runs
        length = to + runs
        chunkRuns = length + runs
    }

    /// Covers the real outputs of `batch` images, image b's output (oy, ox) at extended position
    /// b·plane + oy·rowStride + ox. With `end` set, no vector reaches past that position (an input read
    /// in place has no slack after it): a vector that would is moved back to end just there,
    /// overlapping its predecessor. Chunks hold `vectorsPerChunk` vectors (a multiple of 8).
    /// `output` places image b's output (oy, ox) at base + b·image + oy·row + ox (planar: 0, OH·OW, OW).
    mutating func cover(batch: Int, outHeight oh: Int, outWidth ow: Int, plane: Int, rowStride: Int, end: Int?, vectorsPerChunk: Int,
                        output place: (base: Int, image: Int, row: Int)) {
        vectors = 0
        runs = 0
        var covered = 0
        for b in 0..<batch {
            for oy in 0..<oh {
                let first = b * plane + oy * rowStride, output = place.base + b * place.image + oy * place.row
                var p = first
                // The start of this row may lie in the last vector of the row before.
                if vectors > 0 && covered > first {
                    let n = min(covered, first + ow) - first
                    addRun(vector: vectors - 1, position: first, count: n, output: output, vectorsPerChunk: vectorsPerChunk)
                    p += n
                }
                while p < first + ow {
                    var s = p
                    if let end, s + 8 > end { s = end - 8 }
                    if vectors % vectorsPerChunk == 0 { chunkRuns[vectors / vectorsPerChunk] = Int32(runs) }
                    starts[vectors] = Int32(s)
                    vectors += 1
                    covered = s + 8
                    let n = min(covered, first + ow) - p
                    addRun(vector: vectors - 1, position: p, count: n, output: output + (p - first), vectorsPerChunk: vectorsPerChunk)
                    p += n
                }
            }
        }
        chunks = (vectors + vectorsPerChunk - 1) / vectorsPerChunk
        chunkRuns[chunks] = Int32(runs)
    }

    /// A run of vector v's outputs; joined to the previous run when both continue it in acc and in y
    /// within one chunk (consecutive vectors along a row), so the writes stay long.
    private mutating func addRun(vector v: Int, position p: Int, count n: Int, output: Int, vectorsPerChunk: Int) {
        let slot = (v % vectorsPerChunk) * 8 + (p - Int(starts[v]))
        if runs > Int(chunkRuns[v / vectorsPerChunk]), Int(from[runs - 1] + length[runs - 1]) == slot, Int(to[runs - 1] + length[runs - 1]) == output {
            length[runs - 1] += Int32(n)
            return
        }
        from[runs] = Int32(slot)
        to[runs] = Int32(output)
        length[runs] = Int32(n)
        runs += 1
    }
}

/// A `VectorCover` kept by a `LayoutCache`, with the memory it points into.
final class KeptCover: @unchecked Sendable {
    let memory: UnsafeMutableRawPointer
    let cover: VectorCover

    init(bytes: Int, _ make: (UnsafeMutableRawPointer) -> VectorCover) {
        memory = .allocate(byteCount: max(bytes, 1), alignment: 64)
        cover = make(memory)
    }

    deinit { memory.deallocate() }
}
