import Foundation
import Matrix

#if canImport(Glibc)
    import Glibc
#endif

/// The content-addressed build cache, `<store>/builds/<cacheKey>/` holding `record.json`,
/// `build.log` and `outputs/`.
///
/// A build is written into `<store>/builds/.tmp-<random>/` and renamed into place when
/// complete, so a folder without `record.json` (a build that was killed) is never a hit.
public struct BuildCache: Sendable {
    /// `<store>/builds`.
    public let root: URL

    public init(store: URL) {
        root = store.appendingPathComponent("builds")
    }

    /// The cache key: a readable prefix and the hash of everything that decides the
    /// build's result — the spec, the commit, the toolchain and the effective flags.
    public static func key(spec: BuildSpec, commit: String, toolchain: Toolchain, flags: EffectiveFlags) -> String {
        let text = [
            "spec=\(spec.key)", "commit=\(commit)", "toolchain=\(toolchain.fingerprint)", "opt=\(flags.opt)",
        ].joined(separator: "\n")
        let component = Mirror.sanitisedName(spec.component)
        return "\(component)-\(spec.opt.rawValue)-\(spec.bits.rawValue)-\(SHA256.hex(of: text).prefix(20))"
    }

    /// The folder of `cacheKey`.
    public func folder(for cacheKey: String) -> URL {
        root.appendingPathComponent(cacheKey)
    }

    /// The record of a complete earlier build that may be reused: one whose record reads
    /// back and whose outputs are all still there.
    ///
    /// A passed build is reused, and so is one that failed by exiting non-zero or missing
    /// an output (same commit, compiler and flags fail the same way). A timed-out build,
    /// or one killed by a signal (the OOM killer, an operator), is not: that says more
    /// about the machine than about the code.
    public func reusable(_ cacheKey: String) -> BuildRecord? {
        guard var record = read(cacheKey) else { return nil }
        switch record.status {
        case .passed: break
        case .failed: guard record.exitCode != nil else { return nil }
        case .timedOut: return nil
        }
        let folder = folder(for: cacheKey)
        for output in record.outputs {
            let size = (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(output.path).path))?[.size] as? Int
            if size != output.size { return nil }
        }
        record.directory = folder
        return record
    }

    /// The stored record of `cacheKey`, whatever its status.
    public func read(_ cacheKey: String) -> BuildRecord? {
        let folder = folder(for: cacheKey)
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("record.json")),
            var record = try? Self.decoder.decode(BuildRecord.self, from: data)
        else { return nil }
        record.directory = folder
        return record
    }

    /// A fresh staging folder for one build.
    func makeStaging() throws -> URL {
        let staging = root.appendingPathComponent(".tmp-\(UUID().uuidString.prefix(12))")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        return staging
    }

    /// Writes `record` into `staging` and moves `staging` into place as `cacheKey`,
    /// replacing an earlier build of the same key (a rebuild).
    func publish(_ record: BuildRecord, staging: URL) throws -> URL {
        let data = try Self.encoder.encode(record)
        try data.write(to: staging.appendingPathComponent("record.json"))
        let final = folder(for: record.cacheKey)
        for _ in 0..<3 {
            if rename(staging.path, final.path) == 0 { return final }
            guard errno == ENOTEMPTY || errno == EEXIST else { break }
            // An earlier build of this key is there: move it aside, then take its place.
            let old = root.appendingPathComponent(".old-\(UUID().uuidString.prefix(12))")
            if rename(final.path, old.path) == 0 {
                try? FileManager.default.removeItem(at: old)
            }
        }
        let reason = String(cString: strerror(errno))
        throw BuildError(
            .storeUnwritable,
            "cannot move the finished build \(staging.path) to \(final.path): \(reason); check permissions and free space in the store")
    }

    /// Removes staging folders left by builds that were killed. Call only when no build of
    /// this store is running in any process.
    public func removeLeftovers() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for name in names where name.hasPrefix(".tmp-") || name.hasPrefix(".old-") {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(name))
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
