import Foundation
import Matrix
import Testing

@testable import Hypervisor

/// Issue 10 §7: a build's outputs are files inside its worktree, whatever the matrix's
/// output path or the links the build made say; nothing of the host is copied in.
@Suite("Outputs stay inside the worktree")
struct WorktreeOutputPathTests {
    @Test("an output path climbing out with .. fails the build and copies nothing")
    func dotDot() async throws {
        let scratch = try Scratch("outside")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let spec = BuildSpec.fixture(
            repository, opt: .O0, bits: .i386, counter: scratch.path("started"),
            outputs: ["prog": "out/{bits}/prog", "extra": "../../../../../../../../../etc/hostname"])
        let record = try await Builder(store: scratch.path("store")).build(spec)
        #expect(record.status == .failed)
        let failure = try #require(record.failure)
        #expect(failure.contains("declared output 'extra'") && failure.contains("outside the build's worktree"), "\(failure)")
        #expect(record.outputs.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("store").path + "/builds/\(record.cacheKey)/outputs/extra"))
    }

    @Test("a link the build made to a host file fails the build")
    func symlinkOut() async throws {
        let scratch = try Scratch("outside")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let spec = BuildSpec.fixture(
            repository, opt: .O0, bits: .i386, counter: scratch.path("started"),
            command: "make BITS={bits} OPT='{opt}' && ln -s /etc/hostname out/leak",
            outputs: ["prog": "out/{bits}/prog", "leak": "out/leak"])
        let record = try await Builder(store: scratch.path("store")).build(spec)
        #expect(record.status == .failed)
        #expect(record.failure?.contains("resolves to /etc/hostname, outside the build's worktree") == true, "\(record.failure ?? "")")
    }

    @Test("a link inside the worktree is followed, and the output keeps its declared name")
    func symlinkInside() async throws {
        let scratch = try Scratch("outside")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let spec = BuildSpec.fixture(
            repository, opt: .O0, bits: .i386, counter: scratch.path("started"),
            command: "make BITS={bits} OPT='{opt}' && ln -s i386/prog out/current",
            outputs: ["prog": "out/current"])
        let record = try await Builder(store: scratch.path("store")).build(spec)
        #expect(record.status == .passed, "\(record.failure ?? "")")
        #expect(record.outputs.first?.path == "outputs/prog/current")
        #expect((record.outputs.first?.size ?? 0) > 0)
    }
}
