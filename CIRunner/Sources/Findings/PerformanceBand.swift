import Foundation
import Matrix

/// What a cell's earlier timings say to expect: a median and a band around it, wide enough
/// for the noise its history shows (median ± `band` × 1.4826 × MAD, the MAD scaled to a
/// standard deviation), never narrower than `minChangePercent` of the median nor than
/// ``floorSeconds``.
public struct PerformanceBand: Sendable, Codable, Equatable {
    public var median: Double
    public var halfWidth: Double
    /// How many earlier results made it.
    public var count: Int

    /// Below this a difference is the poll interval, the emulator's start and the machine's
    /// load (seconds-long fixture boots vary by more than 10 % on a loaded CI host), not the
    /// guest; real nested boots take tens of seconds.
    public static let floorSeconds = 1.0

    public var lower: Double { median - halfWidth }
    public var upper: Double { median + halfWidth }
    /// The half-width as a percentage of the median.
    public var percent: Double { median > 0 ? halfWidth / median * 100 : 0 }

    public func contains(_ value: Double) -> Bool { abs(value - median) <= halfWidth }

    public init(median: Double, halfWidth: Double, count: Int) {
        self.median = median
        self.halfWidth = halfWidth
        self.count = count
    }

    /// The band of `values` (any order); nil when there are none.
    public init?(_ values: [Double], rules: PerformanceRules) {
        guard !values.isEmpty else { return nil }
        let median = Self.median(values)
        let mad = Self.median(values.map { abs($0 - median) })
        self.init(median: median, halfWidth: Self.halfWidth(median: median, mad: mad, rules: rules, relative: nil), count: values.count)
    }

    static func halfWidth(median: Double, mad: Double, rules: PerformanceRules, relative: Double?) -> Double {
        let noise = Double(rules.band) * 1.4826 * mad
        let minimum = Double(rules.minChangePercent) / 100 * median
        return max(noise, minimum, (relative ?? 0) * median, floorSeconds)
    }

    /// The band to judge the next value by, from earlier values newest first: the values
    /// since the last change of level (a value outside the band of the newer ones), as long
    /// as there are `minHistory` of them. After a recent change there are fewer: the band is
    /// then centred on the new level with the relative width of the level before, so that a
    /// change is reported once, and its undoing is reported too.
    public static func baseline(newestFirst values: [Double], rules: PerformanceRules) -> PerformanceBand? {
        let values = Array(values.prefix(rules.history))
        var level: [Double] = []
        var rest: ArraySlice<Double> = []
        for (index, value) in values.enumerated() {
            if let band = PerformanceBand(level, rules: rules), !band.contains(value) {
                rest = values[index...]
                break
            }
            level.append(value)
        }
        if level.count >= rules.minHistory { return PerformanceBand(level, rules: rules) }
        guard rest.count >= rules.minHistory, let before = PerformanceBand(Array(rest), rules: rules), before.median > 0 else { return nil }
        let median = Self.median(level)
        let mad = Self.median(level.map { abs($0 - median) })
        return PerformanceBand(
            median: median, halfWidth: halfWidth(median: median, mad: mad, rules: rules, relative: before.halfWidth / before.median),
            count: level.count)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
