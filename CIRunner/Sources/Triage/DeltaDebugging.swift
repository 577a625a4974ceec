/// Delta debugging (Zeller's ddmin) over a list, driven by an async test, counting the
/// tests it runs: what -O triage (#13) minimises flags and translation units with.
///
/// `test(subset)` answers whether `subset` alone is enough for the effect (for flags:
/// disabling them makes the cell pass; for units: optimising them makes it fail). The
/// caller knows the whole list is enough and the empty list is not, so neither is tested.
///
/// A single culprit is found by halving first (≤ 2 tests a level: ≤ 2⌈log2 n⌉ for n
/// items); when neither half alone is enough (the effect needs items of both halves) the
/// rest is general ddmin, whose result is 1-minimal: removing any one item loses the effect.
public enum DeltaDebugging {
    /// What ``minimize(_:priority:test:)`` found.
    public struct Outcome<Element: Hashable>: Equatable {
        /// The minimal subset, in the input's order.
        public var minimal: [Element]
        /// Tests run (repeated subsets are answered from memory and not counted).
        public var tests: Int
        /// True when halving alone found it (a single culprit).
        public var byHalving: Bool
    }

    /// - Parameters:
    ///   - items: the list (the whole of it is known to be enough).
    ///   - priority: how many leading items to try as a group first (the undefined-behaviour
    ///     flags): the first split is there instead of in the middle. 0 halves.
    ///   - test: whether a subset is enough; a thrown error (cancellation) ends the search.
    public static func minimize<Element: Hashable>(
        _ items: [Element], priority: Int = 0, test: ([Element]) async throws -> Bool
    ) async throws -> Outcome<Element> {
        var memo = Memo<Element>()
        var current = items
        var first = true
        var halvingWorked = true
        while current.count > 1 {
            let cut = first && priority > 0 && priority < current.count ? priority : current.count / 2
            first = false
            let (left, right) = (Array(current[..<cut]), Array(current[cut...]))
            if try await memo.run(left, test) {
                current = left
            } else if try await memo.run(right, test) {
                current = right
            } else {
                halvingWorked = false
                break
            }
        }
        if !halvingWorked { current = try await ddmin(current, memo: &memo, test: test) }
        return Outcome(minimal: current, tests: memo.tests, byHalving: halvingWorked)
    }

    /// Zeller's ddmin: subsets, then complements, then finer granularity.
    static func ddmin<Element: Hashable>(
        _ items: [Element], memo: inout Memo<Element>, test: ([Element]) async throws -> Bool
    ) async throws -> [Element] {
        var current = items
        var granularity = 2
        while current.count >= 2 {
            let parts = split(current, into: granularity)
            var reduced = false
            for part in parts {
                guard try await memo.run(part, test) else { continue }
                current = part
                granularity = 2
                reduced = true
                break
            }
            if !reduced, granularity > 2 || parts.count > 2 {
                for part in parts {
                    let removed = Set(part)
                    let complement = current.filter { !removed.contains($0) }
                    if try await memo.run(complement, test) {
                        current = complement
                        granularity = max(granularity - 1, 2)
                        reduced = true
                        break
                    }
                }
            }
            if reduced { continue }
            if granularity >= current.count { break }
            granularity = min(current.count, granularity * 2)
        }
        return current
    }

    /// `items` in `count` contiguous parts of near-equal size.
    static func split<Element>(_ items: [Element], into count: Int) -> [[Element]] {
        let count = max(1, min(count, items.count))
        var parts: [[Element]] = []
        var start = 0
        for index in 0..<count {
            let end = start + (items.count - start) / (count - index)
            parts.append(Array(items[start..<end]))
            start = end
        }
        return parts
    }

    /// Answers repeated subsets from memory; counts the tests really run.
    struct Memo<Element: Hashable> {
        var answers: [Set<Element>: Bool] = [:]
        var tests = 0

        mutating func run(_ subset: [Element], _ test: ([Element]) async throws -> Bool) async throws -> Bool {
            let key = Set(subset)
            if let known = answers[key] { return known }
            if subset.isEmpty { return false }
            tests += 1
            let answer = try await test(subset)
            answers[key] = answer
            return answer
        }
    }
}
