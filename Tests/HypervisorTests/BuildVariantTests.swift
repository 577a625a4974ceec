import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Build variants: ad-hoc commits, flags, PATH wrappers in the cache key", .enabled(if: Tool.exists("gcc") && Tool.exists("make"), "needs gcc and make"))
struct BuildVariantTests {
    @Test("an empty variant changes neither the spec key nor the cache key")
    func emptyVariantKeepsKeys() {
        let spec = CacheKeyTests.spec(.O3)
        let applied = spec.applying(BuildVariant())
        #expect(applied == spec)
        #expect(applied.key == spec.key)
        let flags = FlagPolicy.flags(for: .O3, toolchain: CacheKeyTests.gcc12, extra: [], disabled: false)
        let source = ResolvedRevision(repository: spec.repository, revision: "main", commit: CacheKeyTests.commit)
        let plan = BuildPlan(spec: applied, source: source, toolchain: CacheKeyTests.gcc12, flags: flags)
        #expect(plan.cacheKey == CacheKeyTests.key(spec), "a nightly's builds stay cached across this change")
        // Encoded without the new fields: an old plan/cell fingerprint is the same text.
        let json = String(decoding: try! JSONEncoder().encode(applied), as: UTF8.self)
        #expect(!json.contains("extraFlags") && !json.contains("pathPrefix") && !json.contains("environment"))
    }

    @Test("commit, flags, wrapper contents and environment each make another build; the wrapper's path does not")
    func variantEntersTheKeys() throws {
        let scratch = try Scratch("variant-keys")
        let flags = FlagPolicy.flags(for: .O3, toolchain: CacheKeyTests.gcc12, extra: [], disabled: false)
        let source = ResolvedRevision(repository: "/srv/xmhf64.git", revision: "main", commit: CacheKeyTests.commit)
        func cacheKey(_ variant: BuildVariant) -> String {
            let spec = CacheKeyTests.spec(.O3).applying(variant)
            return BuildPlan(
                spec: spec, source: source, toolchain: CacheKeyTests.gcc12, flags: flags,
                pathDigest: spec.pathPrefix.map { BuildVariant.contentDigest(of: $0) ?? "unreadable" }
            ).cacheKey
        }
        let plain = cacheKey(BuildVariant())
        #expect(CacheKeyTests.spec(.O3).applying(BuildVariant(commit: "abc123")).revision == "abc123")
        #expect(cacheKey(BuildVariant(environment: ["X": "1"])) != plain)
        let first = scratch.path("wrap1"), second = scratch.path("wrap2")
        for folder in [first, second] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("#!/bin/sh\nexec /usr/bin/gcc \"$@\"\n".utf8).write(to: folder.appendingPathComponent("gcc"))
        }
        let viaFirst = cacheKey(BuildVariant(pathPrefix: first.path))
        #expect(viaFirst != plain)
        #expect(cacheKey(BuildVariant(pathPrefix: second.path)) == viaFirst, "same wrapper files, another folder: the same build")
        try Data("#!/bin/sh\nexec /usr/bin/gcc -O0 \"$@\"\n".utf8).write(to: second.appendingPathComponent("gcc"))
        #expect(cacheKey(BuildVariant(pathPrefix: second.path)) != viaFirst, "another wrapper: another build")
    }

    @Test("a real build: extra flags come after {opt}, the wrapper is first on PATH, both in the record; cached by them")
    func realBuild() async throws {
        let scratch = try Scratch("variant-build")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let first = try await repository.git("rev-parse", "HEAD")
        try Data("int later;\n".utf8).write(to: repository.url.appendingPathComponent("later.c"))
        try await repository.commitAll("a later commit")
        let wrapper = scratch.path("wrapper")
        try FileManager.default.createDirectory(at: wrapper, withIntermediateDirectories: true)
        let log = scratch.path("wrapper.log").path
        let script = "#!/bin/sh\necho \"$*\" >> '\(log)'\nexec /usr/bin/gcc \"$@\"\n"
        try Data(script.utf8).write(to: wrapper.appendingPathComponent("gcc"))
        chmod(wrapper.appendingPathComponent("gcc").path, 0o755)

        let counter = scratch.path("started")
        let spec = BuildSpec.fixture(repository, opt: .O2, bits: .amd64, counter: counter)
        let variant = BuildVariant(commit: first, extraFlags: ["-fno-strict-aliasing"], pathPrefix: wrapper.path)
        let store = scratch.path("store")
        let plain = try await Builder(store: store).build(spec)
        let record = try await Builder(store: store).build(spec.applying(variant))
        #expect(record.status == .passed, "\(record.summary)")
        #expect(record.commit == first, "the variant's commit, not main")
        #expect(record.optFlags.hasSuffix("-fno-strict-aliasing") && record.optFlags.hasPrefix("-O2"), "\(record.optFlags)")
        #expect(record.variant?.pathPrefix == wrapper.path && record.variantPathDigest != nil)
        #expect(record.cacheKey != plain.cacheKey)
        #expect(plain.variant == nil)
        let seen = try String(contentsOfFile: log, encoding: .utf8)
        #expect(seen.contains("-O2") && seen.contains("-fno-strict-aliasing"), "the build called gcc through the wrapper: \(seen)")

        let again = try await Builder(store: store).build(spec.applying(variant))
        #expect(again.cacheHit && again.cacheKey == record.cacheKey, "cached by its effective flags and wrapper")
        #expect(startedCount(counter) == 2)
    }
}
