import Foundation

/// Which scheduled matrices fire now, and whether a fired schedule queues a run. Pure: the
/// ``ScheduleService`` loads the last firing times, ticks it, and records what it returns.
public struct ScheduleStateMachine: Sendable {
    /// A scheduled matrix: its config name and schedule.
    public struct Entry: Sendable, Equatable {
        public var matrix: String
        public var schedule: Schedule
        public init(matrix: String, schedule: Schedule) {
            self.matrix = matrix
            self.schedule = schedule
        }
    }

    /// What the service does for a matrix after a tick.
    public enum Action: Sendable, Equatable {
        /// Needs the last firing time from the store before it can decide.
        case load(matrix: String)
        /// Due: record `at` as its firing time, then look at its revisions.
        case fire(matrix: String, at: Date)
    }

    /// What a fired schedule does once the revision set is known.
    public enum Decision: Sendable, Equatable {
        case enqueue
        /// The revisions are the last run's: running them again proves nothing.
        case unchanged
    }

    public let entries: [Entry]
    /// Last firing per matrix; a matrix absent here is not loaded yet (`.some(nil)`: never fired).
    private(set) var lastFired: [String: Date?] = [:]

    public init(entries: [Entry]) { self.entries = entries }

    /// The firing time a previous service recorded (nil: never fired).
    public mutating func loaded(matrix: String, lastFired: Date?) { self.lastFired[matrix] = .some(lastFired) }

    /// What to do at `now`. A fired matrix counts as fired at once, so a store write that
    /// fails does not fire it again on the next tick.
    public mutating func tick(now: Date) -> [Action] {
        entries.compactMap { entry in
            guard let last = lastFired[entry.matrix] else { return .load(matrix: entry.matrix) }
            guard entry.schedule.isDue(lastFired: last, now: now) else { return nil }
            lastFired[entry.matrix] = .some(now)
            return .fire(matrix: entry.matrix, at: now)
        }
    }

    /// Whether a fired schedule queues a run: not when the revision set equals the last
    /// run's; yes when either is unknown (a failed ls-remote must not hide a regression).
    public static func decide(revisions: String?, previous: String?) -> Decision {
        if let revisions, let previous, revisions == previous { return .unchanged }
        return .enqueue
    }
}
