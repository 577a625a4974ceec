import Foundation
import Testing

@testable import CIRunner

@Suite("Schedule")
struct ScheduleTests {
    static func utc(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    static let zurich0230 = Schedule.daily(hour: 2, minute: 30, timeZone: "Europe/Zurich")

    @Test("daily 02:30 Zurich on an ordinary day: the next day's 02:30 CET")
    func ordinaryDay() {
        let next = Self.zurich0230.nextFire(lastFired: Self.utc("2026-11-24T01:30:00Z"), now: Self.utc("2026-11-24T12:00:00Z"))
        #expect(next == Self.utc("2026-11-25T01:30:00Z"))
    }

    @Test("never fired: waits for the next slot, today's if it is still ahead")
    func neverFired() {
        #expect(Self.zurich0230.nextFire(lastFired: nil, now: Self.utc("2026-11-25T01:00:00Z")) == Self.utc("2026-11-25T01:30:00Z"))
        #expect(Self.zurich0230.nextFire(lastFired: nil, now: Self.utc("2026-11-25T01:30:00Z")) == Self.utc("2026-11-26T01:30:00Z"))
        #expect(!Self.zurich0230.isDue(lastFired: nil, now: Self.utc("2026-11-25T01:29:59Z")))
    }

    @Test("spring forward: 02:30 does not exist on 29 March; it fires once, at 03:30 CEST, then 02:30 CEST")
    func springForward() {
        let onTheDay = Self.zurich0230.nextFire(lastFired: Self.utc("2026-03-28T01:30:00Z"), now: Self.utc("2026-03-28T12:00:00Z"))
        #expect(onTheDay == Self.utc("2026-03-29T01:30:00Z"))  // 03:30 CEST
        let after = Self.zurich0230.nextFire(lastFired: onTheDay, now: onTheDay)
        #expect(after == Self.utc("2026-03-30T00:30:00Z"))  // 02:30 CEST
        // A time that does exist on the day moves with the offset: 23 hours after 03:30 CET.
        let three = Schedule.daily(hour: 3, minute: 30, timeZone: "Europe/Zurich")
        #expect(three.nextFire(lastFired: Self.utc("2026-03-28T02:30:00Z"), now: Self.utc("2026-03-28T02:30:00Z")) == Self.utc("2026-03-29T01:30:00Z"))
    }

    @Test("fall back: 02:30 happens twice on 25 October; it fires once, at the first")
    func fallBack() {
        let first = Self.zurich0230.nextFire(lastFired: Self.utc("2026-10-24T00:30:00Z"), now: Self.utc("2026-10-24T12:00:00Z"))
        #expect(first == Self.utc("2026-10-25T00:30:00Z"))  // 02:30 CEST
        // An hour later the wall clock shows 02:30 again (CET): not due again.
        let second = Self.utc("2026-10-25T01:30:00Z")
        #expect(!Self.zurich0230.isDue(lastFired: first, now: second))
        #expect(Self.zurich0230.nextFire(lastFired: first, now: second) == Self.utc("2026-10-26T01:30:00Z"))  // 02:30 CET
    }

    @Test("midnight: 00:00 and 23:59 roll over to the next day, in the stated zone")
    func midnight() {
        let utcMidnight = Schedule.daily(hour: 0, minute: 0, timeZone: "UTC")
        #expect(utcMidnight.nextFire(lastFired: Self.utc("2026-11-24T00:00:00Z"), now: Self.utc("2026-11-24T23:59:59Z")) == Self.utc("2026-11-25T00:00:00Z"))
        #expect(utcMidnight.nextFire(lastFired: Self.utc("2026-12-31T00:00:00Z"), now: Self.utc("2026-12-31T00:00:00Z")) == Self.utc("2027-01-01T00:00:00Z"))
        let late = Schedule.daily(hour: 23, minute: 59, timeZone: "UTC")
        #expect(late.nextFire(lastFired: nil, now: Self.utc("2026-11-24T23:59:30Z")) == Self.utc("2026-11-25T23:59:00Z"))
        // 00:15 in New York is 05:15 UTC in winter: "the next day" is the zone's day, not UTC's.
        let newYork = Schedule.daily(hour: 0, minute: 15, timeZone: "America/New_York")
        #expect(newYork.nextFire(lastFired: nil, now: Self.utc("2026-11-25T04:00:00Z")) == Self.utc("2026-11-25T05:15:00Z"))
        #expect(newYork.nextFire(lastFired: nil, now: Self.utc("2026-11-25T06:00:00Z")) == Self.utc("2026-11-26T05:15:00Z"))
    }

    @Test("missed slots while down: due at once, and only once")
    func catchUp() {
        let lastFired = Self.utc("2026-11-20T01:30:00Z")
        let now = Self.utc("2026-11-24T09:00:00Z")
        #expect(Self.zurich0230.isDue(lastFired: lastFired, now: now))
        #expect(!Self.zurich0230.isDue(lastFired: now, now: now.addingTimeInterval(60)))
        #expect(Self.zurich0230.nextFire(lastFired: now, now: now) == Self.utc("2026-11-25T01:30:00Z"))
    }

    @Test("every N hours: at once when never run, then N hours after the last run")
    func everyHours() {
        let every6 = Schedule.everyHours(6)
        let now = Self.utc("2026-11-25T10:00:00Z")
        #expect(every6.isDue(lastFired: nil, now: now))
        #expect(every6.nextFire(lastFired: now, now: now) == Self.utc("2026-11-25T16:00:00Z"))
        // Across a DST change it is still 6 elapsed hours.
        #expect(every6.nextFire(lastFired: Self.utc("2026-03-29T00:00:00Z"), now: now) == Self.utc("2026-03-29T06:00:00Z"))
        #expect(every6.description == "every 6 h")
        #expect(Self.zurich0230.description == "daily 02:30 Europe/Zurich")
    }
}
