import Testing

@testable import Matrix

@Suite("SHA-256")
struct SHA256Tests {
    // FIPS 180-4 example vectors and the empty string.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func knownVectors(input: String, digest: String) {
        #expect(SHA256.hex(of: input) == digest)
    }

    @Test("buffer and byte-sequence updates agree across block boundaries")
    func chunkedUpdates() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var whole = SHA256()
        whole.update(bytes)
        var chunked = SHA256()
        for chunk in stride(from: 0, to: bytes.count, by: 37) {
            bytes[chunk..<min(chunk + 37, bytes.count)].withUnsafeBytes { chunked.update($0) }
        }
        #expect(whole.hexDigest == chunked.hexDigest)
    }

    // Lengths around the padding boundary (55/56 bytes mod 64) and the block size, checked
    // against Python's hashlib for bytes (i * 7 + 3) mod 256.
    @Test(arguments: [
        (55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"),
        (56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"),
        (63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"),
        (64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"),
        (65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"),
        (119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"),
        (120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"),
        (128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"),
    ])
    func paddingBoundaries(count: Int, digest: String) {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        var contiguous = SHA256()
        contiguous.update(bytes)
        #expect(contiguous.hexDigest == digest)
        // A sequence without contiguous storage takes the byte-by-byte path.
        var lazy = SHA256()
        lazy.update(bytes.lazy.map { $0 })
        #expect(lazy.hexDigest == digest)
        // Split at every point: the pending bytes carry across updates.
        for split in 0...count {
            var two = SHA256()
            bytes[..<split].withUnsafeBytes { two.update($0) }
            bytes[split...].withUnsafeBytes { two.update($0) }
            #expect(two.hexDigest == digest, "split at \(split)")
        }
    }

    @Test("FIPS 180-4: one million 'a', fed in uneven chunks")
    func millionA() {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var hasher = SHA256()
        var offset = 0
        var size = 1
        while offset < bytes.count {
            let end = min(offset + size, bytes.count)
            bytes[offset..<end].withUnsafeBytes { hasher.update($0) }
            offset = end
            size = size * 3 % 1000 + 1
        }
        #expect(hasher.hexDigest == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
