import Foundation
import Matrix
import Testing

@testable import Hypervisor

/// Waits up to `seconds`, checking every 50 ms, for `condition`; returns whether it held.
/// For what a process's end sets in motion (a kill, the subreaper's 100 ms reap sweep),
/// which a loaded CI can delay well past any fixed sleep.
func eventually(seconds: Double = 3, _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// A temporary folder removed when the value goes away.
final class Scratch: Sendable {
    let url: URL

    init(_ label: String = "test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> URL { url.appendingPathComponent(name) }
}

/// A real git repository in a temporary folder, driven through SupervisedProcess like
/// every child of nestci (Foundation.Process would race the orphan reaper).
struct TestRepository: Sendable {
    let url: URL
    var path: String { url.path }

    /// A repository holding the build fixture project on branch `main`, one commit tagged `v1`.
    static func withBuildProject(in scratch: Scratch, name: String = "project") async throws -> TestRepository {
        let repository = TestRepository(url: scratch.path(name))
        try FileManager.default.createDirectory(at: repository.url, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: Fixtures.buildProject.path) {
            try FileManager.default.copyItem(
                at: Fixtures.buildProject.appendingPathComponent(file), to: repository.url.appendingPathComponent(file))
        }
        try await repository.git("init", "-q", "-b", "main")
        try await repository.commitAll("the build fixture")
        try await repository.git("tag", "v1")
        return repository
    }

    @discardableResult
    func git(_ arguments: String...) async throws -> String {
        let result = try await SupervisedProcess.run(
            ProcessSpec("git", arguments, environment: ["LC_ALL": "C"], workingDirectory: path, timeout: .seconds(60)))
        guard result.succeeded else {
            throw TestFailure("git \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits every change; returns the new commit id.
    @discardableResult
    func commitAll(_ message: String) async throws -> String {
        try await git("add", "-A")
        try await git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", message)
        return try await git("rev-parse", "HEAD")
    }

    /// Writes `text` to `file` and commits it.
    @discardableResult
    func commit(file: String, _ text: String, message: String) async throws -> String {
        try Data(text.utf8).write(to: url.appendingPathComponent(file))
        return try await commitAll(message)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Fixtures {
    /// `Tests/Fixtures/buildproject`, found from this file's location.
    static let buildProject = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/buildproject")
}

/// Host tools the tests need; a test that cannot run here says why.
enum Tool {
    static func exists(_ name: String) -> Bool {
        SupervisedProcess.resolve(name, path: ProcessInfo.processInfo.environment["PATH"]).hasPrefix("/")
    }

    /// gcc's major version on this host, 0 when gcc is missing. Read with popen, as a
    /// trait is evaluated synchronously (its status may be reaped by nestci's orphan
    /// reaper first; only the output matters).
    static let gccMajor: Int = {
        guard exists("gcc"), let pipe = popen("gcc -dumpversion 2>/dev/null", "r") else { return 0 }
        var buffer = [CChar](repeating: 0, count: 64)
        let bytes = fgets(&buffer, Int32(buffer.count), pipe) != nil ? buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) } : []
        let line = String(decoding: bytes, as: UTF8.self)
        pclose(pipe)
        return Int(line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").first ?? "") ?? 0
    }()
}

extension BuildSpec {
    /// The fixture project's build: counts each command start in `counter`, then runs make.
    static func fixture(
        _ repository: TestRepository, revision: String = "main", opt: OptLevel, bits: Bits, counter: URL,
        command: String? = nil, outputs: [String: String] = ["prog": "out/{bits}/prog"], timeoutSeconds: Int = 300,
        workarounds: [FlagWorkaround] = []
    ) -> BuildSpec {
        BuildSpec(
            component: "buildproject", repository: repository.path, revision: revision,
            command: command ?? "echo started >> '\(counter.path)' && make BITS={bits} OPT='{opt}' -j{jobs}",
            outputs: outputs, opt: opt, bits: bits, variables: [:], workarounds: workarounds,
            timeoutSeconds: timeoutSeconds)
    }
}

/// Lines in a counter file: how many build commands really started.
func startedCount(_ counter: URL) -> Int {
    guard let text = try? String(contentsOf: counter, encoding: .utf8) else { return 0 }
    return text.split(separator: "\n").count
}
