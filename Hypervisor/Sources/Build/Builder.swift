import Foundation
import Matrix

/// Builds hypervisors for a run: resolves revisions, probes compilers, applies the flag
/// policy, and builds each cache key at most once — reusing earlier runs' builds from the
/// store.
///
/// Make one per run (it owns the run's ``RevisionResolver``). Call ``build(_:)`` from as
/// many cells as you like, concurrently: requests with the same cache key wait for the one
/// build (single flight); at most ``BuilderOptions/maxParallel`` commands run at once.
///
/// Store layout (``store``):
///
///     mirrors/<name>-<hash of URL>.git   bare mirror per repository, fetched once per run
///     worktrees/w-<pid>-<cacheKey>-<random>/   a build's private checkout (removed after
///                                        the build; `keep-…` with keepWorktrees)
///     builds/<cacheKey>                  link to the key's immutable object folder:
///     builds/.objects/<cacheKey>-<random>/record.json   the build record (BuildRecord)
///     builds/.objects/<cacheKey>-<random>/build.log     stdout/stderr, head and tail if long
///     builds/.objects/<cacheKey>-<random>/outputs/<name>/<file>   collected outputs
///     builds/.tmp-<pid>-<random>/        a build in progress (never a cache hit)
///     builds/.locks/<cacheKey>.lock      per-key flock: one process builds a key at a time
///     builds/.locks/store.lock           held shared by every builder (StoreLeftovers)
public actor Builder {
    /// The store folder (layout above).
    public nonisolated let store: URL
    /// How this builder builds (rebuild, workarounds, parallelism).
    public nonisolated let options: BuilderOptions
    /// The run's resolver: every build of this builder sees the same commit per revision.
    public nonisolated let resolver: RevisionResolver
    /// The cache in ``store``.
    public nonisolated let cache: BuildCache

    private let probe: ToolchainProbe
    private let slots: BuildSlots
    private var flights: [String: Task<BuildRecord, any Error>] = [:]
    private var cancelled = false
    /// Cleaning the store's leftovers and taking its use lock, once, before any build.
    private var claim: Task<FileLock?, Never>?

    /// Build commands actually started by this builder (cache hits and shared flights
    /// excluded).
    public private(set) var buildsStarted = 0
    /// Requests answered from builds of earlier runs.
    public private(set) var cacheHits = 0

    /// - Parameters:
    ///   - store: the folder holding mirrors, worktrees and builds (created as needed).
    ///   - resolver: the run's resolver; by default a new one on `store`.
    ///   - probe: where compilers are probed; by default a new one, so each run (each
    ///     builder) sees the compilers as they are now.
    public init(
        store: URL, options: BuilderOptions = BuilderOptions(), resolver: RevisionResolver? = nil,
        probe: ToolchainProbe? = nil
    ) {
        self.store = store
        self.options = options
        self.resolver = resolver ?? RevisionResolver(store: store, pinned: options.pinnedRevisions)
        self.cache = BuildCache(store: store)
        self.probe = probe ?? ToolchainProbe()
        self.slots = BuildSlots(limit: options.maxParallel, cores: options.cores)
    }

    /// Pins what decides `spec`'s result: commit, toolchain, flags, and so its cache key.
    ///
    /// - Throws: ``SourceError``, ``ToolchainError``.
    public func plan(_ spec: BuildSpec) async throws -> BuildPlan {
        async let source = resolver.resolve(repository: spec.repository, revision: spec.revision)
        async let toolchain = probe.toolchain(for: spec.compiler)
        var flags = FlagPolicy.flags(
            for: spec.opt, toolchain: try await toolchain, extra: spec.workarounds, disabled: options.noWorkarounds)
        // An ad-hoc variant's flags come last, so they override the level's (-fno-X after -O3).
        if let extra = spec.extraFlags, !extra.isEmpty { flags.opt += " " + extra.joined(separator: " ") }
        let pathDigest = spec.pathPrefix.map { BuildVariant.contentDigest(of: $0) ?? "unreadable" }
        return BuildPlan(spec: spec, source: try await source, toolchain: try await toolchain, flags: flags, pathDigest: pathDigest)
    }

    /// The build of `spec`: from this run if another cell already asked, from the cache if
    /// an earlier run built it (unless ``BuilderOptions/rebuild``), otherwise built now.
    ///
    /// A build that fails or times out is returned as a record with that status (the
    /// hypervisor's BUILD-FAIL).
    ///
    /// - Throws: nestci's own trouble, to be reported as INFRA or a matrix mistake:
    ///   ``SourceError``, ``ToolchainError``, ``TemplateError``, ``BuildError``; and
    ///   `CancellationError` after ``cancelAll()``.
    public func build(_ spec: BuildSpec) async throws -> BuildRecord {
        await claimStore()
        let plan = try await plan(spec)
        if cancelled { throw CancellationError() }
        if let flight = flights[plan.cacheKey] {
            return try await flight.value
        }
        let flight = Task { try await self.execute(plan) }
        flights[plan.cacheKey] = flight
        return try await flight.value
    }

    /// Removes what killed nestci processes left in the store, then holds the store's use
    /// lock for this builder's life (``StoreLeftovers``).
    private func claimStore() async {
        if claim == nil, options.sharedCache {
            claim = Task { nil }
        }
        if claim == nil {
            let store = store
            let logger = options.logger
            claim = Task { await StoreLeftovers.claim(store: store) { logger?($0, ["store": store.path]) } }
        }
        _ = await claim?.value
    }

    private func execute(_ plan: BuildPlan) async throws -> BuildRecord {
        let metadata = ["build.key": plan.spec.key, "build.cacheKey": plan.cacheKey, "build.commit": plan.source.shortCommit]
        // Another nestci process on this store may be building the same key: wait for it,
        // then reuse what it made.
        let lock: FileLock?
        do {
            lock = try await cache.lock(plan.cacheKey)
        } catch let error as BuildError where options.sharedCache {
            // A shared cache without working locks: both may build, the first published wins.
            options.logger?("building without the key's lock: \(error.message)", metadata)
            lock = nil
        }
        defer { withExtendedLifetime(lock) {} }
        if !options.rebuild, var record = cache.reusable(plan.cacheKey) {
            cacheHits += 1
            record.cacheHit = true
            options.logger?("reusing \(record.status.rawValue) build", metadata)
            return record
        }
        let jobs = try await slots.acquire()
        let runner = BuildRunner(store: store, cache: cache, options: options)
        do {
            options.logger?("building with \(plan.flags.opt), \(jobs) jobs", metadata)
            let record = try await runner.run(plan, jobs: jobs) { await self.countStart() }
            await slots.release()
            options.logger?(
                "build \(record.status.rawValue) in \(String(format: "%.1f", record.durationSeconds)) s", metadata)
            return record
        } catch {
            await slots.release()
            options.logger?("build could not run: \(error)", metadata)
            throw error
        }
    }

    /// Stops every build this builder is running (their process groups are killed) and
    /// makes their requests throw `CancellationError`, as will every later request.
    /// Nothing cancelled is cached.
    public func cancelAll() {
        cancelled = true
        for flight in flights.values { flight.cancel() }
    }

    private func countStart() {
        buildsStarted += 1
    }
}
