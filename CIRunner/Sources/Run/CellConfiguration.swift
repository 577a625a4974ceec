import Foundation
import Matrix

/// A fingerprint of everything in a cell's resolved definition besides its identity (axis
/// values) and its commits: build specs, boot entries, verdict rules, timeouts, memory, and
/// any setting a later version adds to ``Cell`` (emulator settings). A regression or fix
/// between two runs of a cell whose fingerprint moved is (also) a change of configuration,
/// not only of commits: a changed LHV option and pass rule once read as "fixed by commit".
///
/// The fingerprint is a map from part to a short hash, so that a finding can say what
/// changed: `build lhv/command`, `build lhv/variables.options`, `verdict rules/pass`,
/// `boot timeout`, `emulator/bochs.cpu`. Every top-level key of the encoded cell becomes a
/// part (new keys are covered without changes here); levels are split per component, and
/// map-valued parts two levels deeper.
public enum CellConfiguration {
    /// Keys of the encoded ``Cell`` that are its identity (equal for one cell id) or derived
    /// from other keys, or only say how the boot is timed and judged for speed
    /// (`performance`), so not configuration.
    static let identityKeys: Set<String> = ["id", "values", "chain", "opt", "bits", "smp", "backend", "needsVMX", "performance"]

    /// Friendlier names for some top-level keys.
    static let partNames: [String: String] = [
        "verdict": "verdict rules", "bootTimeoutSeconds": "boot timeout", "memoryMiB": "memory",
    ]

    /// The cell's fingerprint: part (`build lhv/command`) → 12 hex digits of SHA-256. A
    /// few dozen entries, kept with each cell result.
    public static func fingerprint(of cell: Cell) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A Cell always encodes (plain Codable values); an empty fingerprint means "unknown".
        guard let data = try? encoder.encode(cell),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return [:] }
        var parts: [String: Any] = [:]
        for (key, value) in object where !identityKeys.contains(key) {
            if key == "levels", let levels = value as? [[String: Any]] {
                let components = levels.map { $0["component"] as? String ?? "?" }
                for (index, level) in levels.enumerated() {
                    var name = components[index]
                    if components.filter({ $0 == name }).count > 1 { name += " (level \(index))" }
                    var rest = level
                    if let build = rest.removeValue(forKey: "build") { parts["build \(name)"] = build }
                    parts["boot \(name)"] = rest
                }
            } else {
                parts[partNames[key] ?? key] = value
            }
        }
        var result: [String: String] = [:]
        for (name, value) in parts {
            guard let dictionary = value as? [String: Any], !dictionary.isEmpty else {
                result[name] = hash(value)
                continue
            }
            for (key, inner) in dictionary {
                // One more level for maps such as a build's variables: `variables.options`.
                if let map = inner as? [String: Any], !map.isEmpty {
                    for (innerKey, leaf) in map { result["\(name)/\(key).\(innerKey)"] = hash(leaf) }
                } else {
                    result["\(name)/\(key)"] = hash(inner)
                }
            }
        }
        return result
    }

    /// What differs between two fingerprints, grouped by part: `build lhv (command,
    /// variables.options)`, `verdict rules (pass)`, `boot timeout`. Empty when they agree.
    public static func changes(from old: [String: String], to new: [String: String]) -> [String] {
        let changed = Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }
        var details: [String: [String]] = [:]
        for key in changed {
            let split = key.split(separator: "/", maxSplits: 1).map(String.init)
            details[split[0], default: []] += split.count > 1 ? [split[1]] : []
        }
        return details.keys.sorted().map { part in
            let inner = details[part]!.sorted()
            return inner.isEmpty ? part : "\(part) (\(inner.joined(separator: ", ")))"
        }
    }

    static func hash(_ value: Any) -> String {
        let text: String
        if JSONSerialization.isValidJSONObject(value),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        {
            text = String(decoding: data, as: UTF8.self)
        } else {
            // A scalar (a number, a string): its description is canonical enough.
            text = "\(value)"
        }
        return String(SHA256.hex(of: text).prefix(12))
    }
}
