import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("File digests")
struct FileDigestTests {
    static func file(bytes: Int) throws -> String {
        let path = NSTemporaryDirectory() + "nestci-digest-\(UUID().uuidString)"
        let data = Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) })
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a file's digest is the SHA-256 of its bytes, whatever the chunking")
    func digestOfFile() throws {
        // Just over two 1 MiB chunks, so the chunk boundary and the tail are both used.
        let count = (2 << 20) + 77
        let path = try Self.file(bytes: count)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var whole = SHA256()
        whole.update(try Data(contentsOf: URL(fileURLWithPath: path)))
        let digest = try #require(try FileDigest.sha256(path: path))
        #expect(digest.bytes == count)
        #expect(digest.hex == whole.hexDigest)
        #expect(FileDigest.matches(path: path, sha256: digest.hex, size: count))
        #expect(!FileDigest.matches(path: path, sha256: String(repeating: "0", count: 64), size: count))
    }

    @Test("hashing in a cancelled task stops with CancellationError, not after the whole file")
    func cancelledHashStops() async throws {
        let path = try Self.file(bytes: 8 << 20)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try FileDigest.sha256(path: path)
        }
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }
}
