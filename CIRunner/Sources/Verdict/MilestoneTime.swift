import Foundation
import Matrix

/// When a boot reached one of its milestones: seconds from the boot's start (the emulator
/// spawned) to when nestci read the line, to within one poll interval.
public struct MilestoneTime: Sendable, Codable, Equatable, Hashable {
    /// The chain's milestone name, or one of the two always recorded: ``firstOutput``
    /// and ``verdict``.
    public var name: String
    public var seconds: Double
    /// 1-based serial line, when a line reached it.
    public var line: Int?
    /// That line (cut at 200 characters): "the last milestone line seen" of a TIMEOUT.
    public var text: String?

    public init(name: String, seconds: Double, line: Int? = nil, text: String? = nil) {
        self.name = name
        self.seconds = seconds
        self.line = line
        self.text = text.map { String($0.prefix(200)) }
    }

    /// The first serial byte read.
    public static let firstOutput = "first-output"
    /// The deciding serial line.
    public static let verdict = "verdict"

    /// A boot's timeline: the first byte, the chain's milestones reached (in time order),
    /// then the deciding line, when a line decided.
    public static func timeline(firstOutput: Duration?, reached: [MilestoneTime], verdict: Verdict) -> [MilestoneTime] {
        var times: [MilestoneTime] = []
        if let firstOutput { times.append(MilestoneTime(name: Self.firstOutput, seconds: firstOutput.seconds)) }
        times += reached.sorted { ($0.seconds, $0.line ?? 0) < ($1.seconds, $1.line ?? 0) }
        if let line = verdict.lineNumber {
            times.append(MilestoneTime(name: Self.verdict, seconds: verdict.seconds, line: line, text: verdict.line))
        }
        return times
    }
}

/// How fast a per-CPU pass rule (`minPerCPU`) counted on one CPU: matches per second
/// between its first and its last match. Iterations per second say more than the time to
/// pass when a change speeds up the iterations but not the boot before them.
public struct CountingRate: Sendable, Codable, Equatable, Hashable {
    /// The pass rule's name.
    public var rule: String
    public var cpu: Int
    public var count: Int
    public var firstSeconds: Double
    public var lastSeconds: Double

    public init(rule: String, cpu: Int, count: Int, firstSeconds: Double, lastSeconds: Double) {
        self.rule = rule
        self.cpu = cpu
        self.count = count
        self.firstSeconds = firstSeconds
        self.lastSeconds = lastSeconds
    }

    /// Matches per second after the first; nil with fewer than two or no time between them.
    public var perSecond: Double? {
        guard count > 1, lastSeconds > firstSeconds else { return nil }
        return Double(count - 1) / (lastSeconds - firstSeconds)
    }
}

/// Times the first line matching each milestone. Pure; ``VerdictStateMachine`` feeds it the
/// lines it already cleaned, so timing costs one literal test per line and pending
/// milestone, and nothing once every milestone is reached.
struct MilestoneRecorder {
    private let markers: [CompiledMarker]
    private var reached: [MilestoneTime?]
    private var pending: Int

    init(_ milestones: [Marker]) throws {
        markers = try milestones.map(CompiledMarker.init)
        reached = Array(repeating: nil, count: markers.count)
        pending = markers.count
    }

    mutating func observe(_ text: String, number: Int, at: Duration) {
        guard pending > 0 else { return }
        for index in markers.indices where reached[index] == nil && markers[index].matches(text) {
            reached[index] = MilestoneTime(name: markers[index].name, seconds: at.seconds, line: number, text: text)
            pending -= 1
        }
    }

    /// Reached milestones, in the chain's order.
    var times: [MilestoneTime] { reached.compactMap { $0 } }
}
