/// How a chain's boots are timed and when a change of speed is worth a finding. Pure data;
/// CIRunner records the milestones while the boot runs and compares them across runs.
///
/// Not part of a cell's configuration fingerprint: naming a milestone or widening the band
/// changes nothing about how the cell boots, so its history goes on.
public struct PerformanceRules: Sendable, Hashable, Codable {
    /// Serial lines whose first appearance is timed (seconds from boot start), in order.
    public var milestones: [Marker]
    /// How many earlier results (same configuration, host and backend) make the band.
    public var history: Int
    /// Fewer earlier results than this: no band yet, so no finding.
    public var minHistory: Int
    /// A change smaller than this (percent of the median) is never reported, however
    /// quiet the history: a 2 % drift is not worth anyone's morning.
    public var minChangePercent: Int
    /// The band's half-width in robust standard deviations (1.4826 × MAD).
    public var band: Int

    public init(milestones: [Marker] = [], history: Int = 8, minHistory: Int = 3, minChangePercent: Int = 10, band: Int = 3) {
        self.milestones = milestones
        self.history = history
        self.minHistory = minHistory
        self.minChangePercent = minChangePercent
        self.band = band
    }
}
