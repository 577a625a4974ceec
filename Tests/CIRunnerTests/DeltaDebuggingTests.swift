import Testing

@testable import CIRunner

@Suite("Delta debugging: minimal subsets and the tests it costs")
struct DeltaDebuggingTests {
    /// ⌈log2 n⌉.
    static func log2Ceil(_ n: Int) -> Int { n <= 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount }

    @Test("one culprit among n: found by halving within 2⌈log2 n⌉ tests", arguments: [1, 2, 3, 7, 8, 64, 85, 100])
    func singleCulprit(n: Int) async throws {
        for culprit in Set([0, n / 3, n - 1]) {
            var asked = 0
            let outcome = try await DeltaDebugging.minimize(Array(0..<n)) { subset in
                asked += 1
                return subset.contains(culprit)
            }
            #expect(outcome.minimal == [culprit])
            #expect(outcome.byHalving)
            #expect(outcome.tests == asked)
            #expect(outcome.tests <= 2 * Self.log2Ceil(n), "n \(n), culprit \(culprit): \(outcome.tests) tests")
        }
    }

    @Test("a priority group is tried first: a culprit inside it costs about 2⌈log2 p⌉ + 1")
    func priorityFirst() async throws {
        let outcome = try await DeltaDebugging.minimize(Array(0..<85), priority: 8) { $0.contains(0) }
        #expect(outcome.minimal == [0])
        #expect(outcome.tests <= 1 + 2 * Self.log2Ceil(8))
        let outside = try await DeltaDebugging.minimize(Array(0..<85), priority: 8) { $0.contains(50) }
        #expect(outside.minimal == [50])
        #expect(outside.tests <= 2 + 2 * Self.log2Ceil(77))
    }

    @Test("two culprits in different halves: general ddmin finds both, 1-minimal")
    func twoCulprits() async throws {
        let outcome = try await DeltaDebugging.minimize(Array(0..<16)) { $0.contains(2) && $0.contains(13) }
        #expect(outcome.minimal == [2, 13])
        #expect(!outcome.byHalving)
        #expect(outcome.tests < 40)
    }

    @Test("three culprits, any one of which alone is not enough")
    func threeCulprits() async throws {
        let needed: Set = [1, 6, 9]
        let outcome = try await DeltaDebugging.minimize(Array(0..<12)) { needed.isSubset(of: Set($0)) }
        #expect(Set(outcome.minimal) == needed)
    }

    @Test("either of two alternatives suffices: one of them is returned")
    func alternatives() async throws {
        let outcome = try await DeltaDebugging.minimize(Array(0..<10)) { $0.contains(3) || $0.contains(8) }
        #expect(outcome.minimal.count == 1)
        #expect([3, 8].contains(outcome.minimal[0]))
    }

    @Test("repeated subsets are not tested twice; a thrown error ends the search")
    func memoAndErrors() async throws {
        var seen: [Set<Int>] = []
        _ = try await DeltaDebugging.minimize(Array(0..<9)) { subset in
            seen.append(Set(subset))
            return subset.contains(4) && subset.contains(5)
        }
        #expect(Set(seen).count == seen.count)
        struct Stop: Error {}
        await #expect(throws: Stop.self) {
            _ = try await DeltaDebugging.minimize(Array(0..<9)) { _ in throw Stop() }
        }
    }

    @Test("splits into near-equal contiguous parts")
    func split() {
        #expect(DeltaDebugging.split(Array(0..<5), into: 2) == [[0, 1], [2, 3, 4]])
        #expect(DeltaDebugging.split(Array(0..<3), into: 5) == [[0], [1], [2]])
    }
}
