import Foundation
import Hypervisor
import Testing

@testable import CIRunner

/// The image `nestci export k8s` runs (docker cannot run here): its runtime stage must hold
/// every shared library nestci loads outside the statically linked Swift runtime, and the
/// packages `nestci cell run` drives.
@Suite("Dockerfile: the image has what nestci cell run needs")
struct DockerfileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The runtime stage (after the last FROM): the packages its apt-get installs by name.
    static func runtimeStage() throws -> String {
        let text = try String(contentsOf: root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        return String(text[try #require(text.range(of: "\nFROM ", options: .backwards)).lowerBound...])
    }

    /// Libraries in the base image (debian:bookworm-slim), and the package of each other one.
    static let base: Set<String> = ["libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1"]
    static let packages = ["libsqlite3.so.0": "libsqlite3-0", "libcurl.so.4": "libcurl4", "libxml2.so.2": "libxml2"]

    @Test(
        "every library nestci and the Swift runtime need outside the runtime itself is installed in the runtime stage",
        .enabled(if: NestCIBinary.path != nil && RealBootTools.exists("objdump"), "needs the nestci executable and objdump"))
    func sharedLibraries() async throws {
        func needed(_ path: String) async throws -> [String] {
            let result = try await SupervisedProcess.run(ProcessSpec("objdump", ["-p", path], timeout: .seconds(60)))
            return result.output.split(separator: "\n").filter { $0.contains("NEEDED") }.compactMap { $0.split(separator: " ").last.map(String.init) }
        }
        let binary = NestCIBinary.path!
        // The Swift runtime's own libraries are linked in by --static-swift-stdlib; what they need is not.
        func isSwiftRuntime(_ name: String) -> Bool {
            name.hasPrefix("libswift") || name.hasPrefix("libFoundation") || name.hasPrefix("lib_Foundation") || name == "libdispatch.so" || name == "libBlocksRuntime.so"
        }
        var names = Set(try await needed(binary))
        let runtimeFolder = try await runtimeFolder(binary)
        for library in names.filter(isSwiftRuntime) { names.formUnion(try await needed("\(runtimeFolder)/\(library)")) }
        let outside = names.filter { !isSwiftRuntime($0) }.subtracting(Self.base)
        #expect(outside.contains("libcurl.so.4"), "FoundationNetworking's libcurl: \(outside.sorted())")
        let stage = try Self.runtimeStage()
        for library in outside.sorted() {
            let package = try #require(Self.packages[library], "\(library): add its Debian package to the Dockerfile's runtime stage and to this table")
            #expect(stage.contains(" \(package) "), "the runtime stage does not install \(package) (for \(library))")
        }
    }

    @Test("the runtime stage installs scripts/debian-packages.txt, which has the packages cell run drives, and keeps tini as PID 1")
    func packagesForCellRun() throws {
        let stage = try Self.runtimeStage()
        #expect(stage.contains("COPY scripts/debian-packages.txt") && stage.contains("xargs apt-get install"))
        let list = try String(contentsOf: Self.root.appendingPathComponent("scripts/debian-packages.txt"), encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for package in ["qemu-system-x86", "qemu-utils", "bochs", "bochsbios", "vgabios", "bochs-sdl", "grub-pc-bin", "grub-common", "mtools", "gcc", "gcc-multilib", "make", "git"] {
            #expect(list.contains(package), "scripts/debian-packages.txt lacks \(package)")
        }
        #expect(stage.contains(#"ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/nestci"]"#))
        #expect(KubernetesExport.script.hasPrefix("exec nestci "), "the pods' command runs nestci under tini too")
        #expect(stage.contains("ca-certificates"), "pods clone https repositories")
    }

    /// The folder the binary loads the Swift runtime from (ldd's answer for libswiftCore.so).
    private func runtimeFolder(_ binary: String) async throws -> String {
        let result = try await SupervisedProcess.run(ProcessSpec("ldd", [binary], timeout: .seconds(60)))
        let line = try #require(result.output.split(separator: "\n").first { $0.contains("libswiftCore.so =>") })
        let path = try #require(line.split(separator: " ").first { $0.hasPrefix("/") })
        return (String(path) as NSString).deletingLastPathComponent
    }
}
