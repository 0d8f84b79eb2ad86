import Foundation

/// A progress bar on standard error with rate and ETA.
///
/// On a terminal it redraws one line at most ten times a second; elsewhere (logs, CI) it prints a
/// plain line every ten percent, so logs stay short.
public final class ProgressBar {
    private let label: String
    private let total: Int
    private let unit: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastDecile = -1
    private let interactive = isatty(STDERR_FILENO) != 0
    private(set) public var done = 0

    public init(_ label: String, total: Int, unit: String = "items") {
        self.label = label
        self.total = max(total, 0)
        self.unit = unit
    }

    /// Extra figures shown after the rate, such as the running loss.
    public var info = ""

    /// Records `n` more units done.
    public func advance(by n: Int = 1) {
        done += n
        let now = Date()
        if interactive {
            guard now.timeIntervalSince(lastDraw) >= 0.1 || done >= total else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r" + line(now: now)).utf8))
        } else {
            let decile = total == 0 ? 10 : min(10, done * 10 / total)
            guard decile > lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data((line(now: now) + "\n").utf8))
        }
    }

    /// Ends the bar's line.
    public func finish() {
        if interactive { FileHandle.standardError.write(Data(("\r" + line(now: Date()) + "\n").utf8)) }
    }

    /// The bar's text, for example `read   [#####-----]  50% 5000/10000 items 2.1k items/s ETA 2s`.
    public func line(now: Date) -> String {
        let elapsed = max(now.timeIntervalSince(start), 1e-9)
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let width = 20
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let pct = String(format: "%3.0f%%", fraction * 100)
        let extra = info.isEmpty ? "" : " " + info
        return "\(label) [\(bar)] \(pct) \(done)/\(total) \(unit) \(Self.human(rate)) \(unit)/s\(extra) ETA \(Self.duration(eta))"
    }

    static func human(_ x: Double) -> String {
        switch x {
        case 1e9...: String(format: "%.1fG", x / 1e9)
        case 1e6...: String(format: "%.1fM", x / 1e6)
        case 1e3...: String(format: "%.1fk", x / 1e3)
        default: String(format: "%.1f", x)
        }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }
}
