import Foundation
import Hypervisor

#if canImport(Glibc)
    import Glibc
#endif

/// Damaged store content (a runs row with an impossible time, a truncated `result_json`, a
/// truncated `findings.json`) affects only itself: readers skip or mend the damaged item
/// and say so here, naming it, instead of failing every later run or page.
///
/// Messages go to standard error once each per process (`nestci: store: …`), where a
/// command's user and the service's journal see them; ``recent`` keeps them for tests.
public enum StoreDamage {
    private static let seen = Mutex<[String]>([])

    /// Reports `message` (once per process).
    public static func report(_ message: String) {
        let isNew = seen.withLock { seen in
            guard !seen.contains(message) else { return false }
            seen.append(message)
            if seen.count > 1000 { seen.removeFirst(seen.count - 1000) }
            return true
        }
        if isNew { FileHandle.standardError.write(Data("nestci: store: \(message)\n".utf8)) }
    }

    /// The messages reported so far in this process, oldest first (at most 1000).
    public static var recent: [String] { seen.withLock { $0 } }

    /// A time read from the store: finite and within years 1970…5138 (what nestci writes),
    /// else nil.
    static func isPlausibleTime(_ seconds: Double) -> Bool { seconds.isFinite && seconds >= 0 && seconds < 1e11 }

    /// What a decoding error says, in a sentence (the JSON path and the problem).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? "" : " at \(path)"
        }
        switch error {
        case .dataCorrupted(let context): return "not valid JSON\(path(context)) (\(context.debugDescription))"
        case .keyNotFound(let key, let context): return "no \"\(key.stringValue)\"\(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(context.debugDescription)\(path(context))"
        @unknown default: return "\(error)"
        }
    }
}
