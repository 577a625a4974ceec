import Foundation
import Matrix

#if canImport(Glibc)
    import Glibc
#endif

/// The content-addressed build cache: `<store>/builds/<cacheKey>` names the complete
/// build of that key, holding `record.json`, `build.log` and `outputs/`.
///
/// Several nestci processes may share one store (`serve` and a manual run, two runs), so:
/// - A build is written into `.tmp-<pid>-<random>/`, then renamed to an immutable folder
///   `.objects/<cacheKey>-<random>/`, and `<cacheKey>` is a symbolic link to it, replaced
///   by an atomic rename. A complete build that someone may be reading is never moved or
///   removed while its reader lives: readers resolve the link once (``read(_:)``) and
///   keep the object's path; a rebuild only points the link at a new object.
/// - A folder without `record.json` (a build that was killed) is never a hit.
/// - One process builds a key at a time (``lock(_:)``, a per-key `flock`); the others
///   wait and then reuse its build. The lock only saves work: correctness rests on
///   publication by `symlink(2)`/`rename(2)` alone (``publish(_:staging:replace:)``), so a
///   cache shared over NFS, where `flock` may not exclude anyone, stays consistent.
/// - Leftovers of killed processes are removed at the next start (``removeLeftovers(alone:)``).
public struct BuildCache: Sendable {
    /// `<store>/builds`.
    public let root: URL

    public init(store: URL) {
        root = store.appendingPathComponent("builds")
    }

    /// Immutable complete builds, each named `<cacheKey>-<random>`.
    var objects: URL { root.appendingPathComponent(".objects") }
    /// Per-key lock files, and `store.lock` held shared by every builder on the store.
    var locks: URL { root.appendingPathComponent(".locks") }

    /// The cache key: a readable prefix and the hash of everything that decides the
    /// build's result, and nothing else: the repository, the commit, the command as it
    /// will run (placeholders expanded, `{jobs}` aside), the declared outputs, the
    /// toolchain and the effective flags. A workaround that does not change a build's
    /// flags leaves its key alone.
    public static func key(
        spec: BuildSpec, commit: String, toolchain: Toolchain, flags: EffectiveFlags, variantLines: [String] = []
    ) -> String {
        var values = spec.variables
        if values["bits"] == nil { values["bits"] = spec.bits.rawValue }
        values["opt"] = flags.opt
        // `{jobs}` changes with the machine's load, never the result.
        values["jobs"] = "{jobs}"
        func expanded(_ template: String) -> String { (try? Template(template).expand(values)) ?? template }
        var lines = [
            "repository=\(spec.repository)", "commit=\(commit)", "command=\(expanded(spec.command))",
            "toolchain=\(toolchain.fingerprint)", "opt=\(flags.opt)", "bits=\(spec.bits.rawValue)",
        ]
        lines += spec.outputs.sorted { $0.key < $1.key }.map { "output.\($0.key)=\(expanded($0.value))" }
        lines += variantLines
        let component = Mirror.sanitisedName(spec.component)
        return "\(component)-\(spec.opt.rawValue)-\(spec.bits.rawValue)-\(SHA256.hex(of: lines.joined(separator: "\n")).prefix(20))"
    }

    /// The path naming `cacheKey`'s build (a link to its object folder).
    public func folder(for cacheKey: String) -> URL {
        root.appendingPathComponent(cacheKey)
    }

    /// The record of a complete earlier build that may be reused: one whose record reads
    /// back and whose outputs still have their recorded size and SHA-256.
    ///
    /// A passed build is reused, and so is one that failed by exiting non-zero or missing
    /// an output (same commit, compiler and flags fail the same way). A timed-out build,
    /// one killed by a signal, or one that failed because of the host (exit 126/127, a
    /// full disk, the OOM killer; recorded by an older nestci) is not: that says more
    /// about the machine than about the code.
    public func reusable(_ cacheKey: String) -> BuildRecord? {
        guard let record = read(cacheKey), let folder = record.directory else { return nil }
        switch record.status {
        case .passed: break
        case .failed:
            guard let code = record.exitCode else { return nil }
            let log = (record.errorLines + [record.failure ?? ""]).joined(separator: "\n")
            if HostTrouble.classify(exitCode: code, signal: nil, log: log) != nil { return nil }
        case .timedOut: return nil
        }
        for output in record.outputs {
            let path = folder.appendingPathComponent(output.path).path
            if !FileDigest.matches(path: path, sha256: output.sha256, size: output.size) { return nil }
        }
        return record
    }

    /// The stored record of `cacheKey`, whatever its status, with ``BuildRecord/directory``
    /// set to the immutable folder the link points at now.
    public func read(_ cacheKey: String) -> BuildRecord? {
        let link = folder(for: cacheKey)
        let folder = link.resolvingSymlinksInPath()
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("record.json")),
            var record = try? Self.decoder.decode(BuildRecord.self, from: data)
        else { return nil }
        record.directory = folder
        return record
    }

    /// Holds the build of `cacheKey` for this process until the lock is released: the
    /// cross-process single flight.
    public func lock(_ cacheKey: String) async throws -> FileLock {
        try await FileLock.acquire(locks.appendingPathComponent("\(cacheKey).lock").path)
    }

    /// A fresh staging folder for one build, named after this process so that a later
    /// start can tell a dead process's leftover from a live build.
    func makeStaging() throws -> URL {
        let staging = root.appendingPathComponent(".tmp-\(getpid())-\(UUID().uuidString.prefix(12))")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        return staging
    }

    /// Writes `record` into `staging`, makes it an immutable object and points `cacheKey`
    /// at it. Returns the record now published for the key, with its folder: `record`'s,
    /// or the build that another process published first (then marked a cache hit).
    ///
    /// When the key already has a complete reusable build and `replace` is false (another
    /// process won a race the lock should have prevented, or there is no working lock:
    /// a shared cache on NFS), that build is kept and this one is discarded. Nothing
    /// complete is ever removed here: a replaced object stays until no process on the
    /// store can be reading it (``removeLeftovers(alone:)``).
    func publish(_ record: BuildRecord, staging: URL, replace: Bool) throws -> BuildRecord {
        let fileManager = FileManager.default
        let data = try Self.encoder.encode(record)
        try data.write(to: staging.appendingPathComponent("record.json"))
        let link = folder(for: record.cacheKey)
        var published = record
        try? fileManager.createDirectory(at: objects, withIntermediateDirectories: true)
        let object = objects.appendingPathComponent("\(record.cacheKey)-\(UUID().uuidString.prefix(12))")
        try move(staging, to: object)
        var info = stat()
        if lstat(link.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            // A folder from before objects existed: becomes an object itself, once.
            try move(link, to: objects.appendingPathComponent("\(record.cacheKey)-legacy-\(UUID().uuidString.prefix(8))"))
        }
        let target = ".objects/\(object.lastPathComponent)"
        if !replace {
            // Publication is by name, not by lock (flock is unreliable on NFS, where the
            // cache of a cluster lives): symlink(2) creates the key's name only if it is
            // free, atomically on one filesystem, NFS included. Whoever loses keeps the
            // winner's complete build and drops its own object, which nobody has seen.
            published.directory = object
            if symlink(target, link.path) == 0 { return published }
            guard errno == EEXIST else { throw unwritable(link) }
            // (A retransmitted NFS request may say EEXIST for our own link.)
            if (try? fileManager.destinationOfSymbolicLink(atPath: link.path)) == target { return published }
            if var existing = reusable(record.cacheKey) {
                try? fileManager.removeItem(at: object)
                existing.cacheHit = true
                return existing
            }
            // What is there is no complete reusable build (timed out, damaged): replaced below.
        }
        let temporary = root.appendingPathComponent(".link-\(getpid())-\(UUID().uuidString.prefix(12))")
        guard symlink(target, temporary.path) == 0 else { throw unwritable(temporary) }
        guard rename(temporary.path, link.path) == 0 else {
            let error = unwritable(link)
            unlink(temporary.path)
            throw error
        }
        published.directory = object
        return published
    }

    private func move(_ from: URL, to: URL) throws {
        guard rename(from.path, to.path) == 0 else { throw unwritable(to) }
    }

    private func unwritable(_ target: URL) -> BuildError {
        BuildError(
            .storeUnwritable,
            "cannot place the finished build at \(target.path): \(String(cString: strerror(errno))); check permissions and free space in the store")
    }

    /// Removes what killed nestci processes left in the build cache: staging folders and
    /// link temporaries whose process is dead, and, when `alone` (no other process uses
    /// the store, ``StoreLeftovers``), every staging folder of another process and every
    /// object no key points at any more (replaced by a rebuild).
    ///
    /// - Returns: the names removed, for the log.
    @discardableResult
    public func removeLeftovers(alone: Bool) -> [String] {
        let fileManager = FileManager.default
        let names = (try? fileManager.contentsOfDirectory(atPath: root.path)) ?? []
        var removed: [String] = []
        var referenced: Set<String> = []
        for name in names where !name.hasPrefix(".") {
            if let target = try? fileManager.destinationOfSymbolicLink(atPath: folder(for: name).path) {
                referenced.insert((target as NSString).lastPathComponent)
            }
        }
        for name in names where name.hasPrefix(".tmp-") || name.hasPrefix(".old-") || name.hasPrefix(".link-") {
            guard StoreLeftovers.ownerIsGone(String(name.dropFirst()), alone: alone) else { continue }
            if (try? fileManager.removeItem(at: root.appendingPathComponent(name))) != nil { removed.append(name) }
        }
        if alone {
            for name in (try? fileManager.contentsOfDirectory(atPath: objects.path)) ?? [] where !referenced.contains(name) {
                if (try? fileManager.removeItem(at: objects.appendingPathComponent(name))) != nil {
                    removed.append(".objects/\(name)")
                }
            }
        }
        return removed
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// The decoder of nestci's JSON files (ISO 8601 dates, as ``encoder`` writes them):
    /// build records here, bundles and bundle runs in CIRunner.
    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
