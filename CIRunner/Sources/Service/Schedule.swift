import Foundation

/// When a matrix runs on its own: daily at a wall-clock time in a time zone, or every N hours.
///
/// Pure: ``nextFire(lastFired:now:)`` decides, the service's loop sleeps and fires.
public enum Schedule: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Every day at `hour:minute` local time in `timeZone` (an IANA identifier such as
    /// `Europe/Zurich`), following its daylight-saving changes.
    case daily(hour: Int, minute: Int, timeZone: String)
    /// Every `hours` hours after the last run.
    case everyHours(Int)

    /// The next time this schedule fires.
    ///
    /// - `lastFired` nil (never ran): a daily schedule waits for its next slot after `now`;
    ///   an hourly one fires at `now` (a newly configured matrix runs at once).
    /// - A result at or before `now` means "due": a slot was missed while the service was
    ///   down. Firing and recording `now` as `lastFired` catches up once, not once per missed slot.
    /// - Daily: the first `hour:minute` strictly after `lastFired` in the zone's local time.
    ///   On the spring-forward day a time that does not exist (02:30 in Zurich) fires when
    ///   it would have been without the jump (03:30 on the new wall clock, still once); on
    ///   the fall-back day a time that happens twice fires once, at its first occurrence.
    public func nextFire(lastFired: Date?, now: Date) -> Date {
        switch self {
        case .everyHours(let hours):
            guard let lastFired else { return now }
            return lastFired.addingTimeInterval(TimeInterval(hours) * 3600)
        case .daily(let hour, let minute, let zone):
            return Self.nextDaily(hour: hour, minute: minute, zone: zone, after: lastFired ?? now)
        }
    }

    /// Whether a run is due at `now`.
    public func isDue(lastFired: Date?, now: Date) -> Bool {
        nextFire(lastFired: lastFired, now: now) <= now
    }

    /// `daily 02:30 Europe/Zurich`, `every 6 h`.
    public var description: String {
        switch self {
        case .daily(let hour, let minute, let zone): return "daily \(Self.clock(hour, minute)) \(zone)"
        case .everyHours(let hours): return "every \(hours) h"
        }
    }

    static func clock(_ hour: Int, _ minute: Int) -> String {
        (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }

    private static func nextDaily(hour: Int, minute: Int, zone: String, after reference: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC")!
        // Walk local days from the reference's own day: the slot on that day may still be
        // ahead; two days later it always is (even across a 25-hour day).
        let day = calendar.dateComponents([.year, .month, .day], from: reference)
        for offset in 0...3 {
            guard let start = calendar.date(from: day), let date = calendar.date(byAdding: .day, value: offset, to: start),
                let slot = slot(on: date, hour: hour, minute: minute, calendar: calendar)
            else { continue }
            if slot > reference { return slot }
        }
        return reference.addingTimeInterval(86_400)  // unreachable with a valid zone
    }

    /// The instant of `hour:minute` on `day`'s local date. Built from the day's midnight
    /// plus the seconds an undisturbed clock would take, then corrected by the offset change:
    /// a skipped time keeps its undisturbed instant, a repeated one gets its first
    /// occurrence, independent of how Calendar resolves ambiguous components.
    private static func slot(on day: Date, hour: Int, minute: Int, calendar: Calendar) -> Date? {
        guard let midnight = calendar.date(from: calendar.dateComponents([.year, .month, .day], from: day)) else { return nil }
        let naive = midnight.addingTimeInterval(TimeInterval(hour * 3600 + minute * 60))
        let zone = calendar.timeZone
        let shift = zone.secondsFromGMT(for: midnight) - zone.secondsFromGMT(for: naive)
        guard shift != 0 else { return naive }
        let corrected = naive.addingTimeInterval(TimeInterval(shift))
        // Clocks went back before the slot (shift > 0): corrected is the slot's wall time
        // in the new offset. If the slot's wall time also existed in the old offset (it is
        // in the repeated hour), the earlier one is `naive`.
        if shift > 0 {
            let wall = calendar.dateComponents([.hour, .minute], from: naive)
            return wall.hour == hour && wall.minute == minute ? naive : corrected
        }
        // Clocks went forward before the slot (shift < 0): if the wall time exists it is
        // `corrected`; if it was skipped, `naive` is when it would have been.
        let wall = calendar.dateComponents([.hour, .minute], from: corrected)
        return wall.hour == hour && wall.minute == minute ? corrected : naive
    }
}
