/// SHA-256 (FIPS 180-4), in plain Swift: Foundation on Linux has no CryptoKit and the
/// project takes no packages. Used for stable cell ids, build keys and output digests.
public struct SHA256: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
    )
    /// Bytes fed but not yet compressed (fewer than 64), in a fixed buffer: no heap
    /// traffic per byte.
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    private var length: UInt64 = 0

    public init() {}

    /// Feeds bytes.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        // Contiguous input (arrays, Data, UTF-8 views) goes through the buffer path.
        let contiguous = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) } != nil
        if contiguous { return }
        for byte in bytes { withUnsafeBytes(of: byte) { update($0) } }
    }

    /// Feeds a raw buffer (the path files take).
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard !buffer.isEmpty else { return }
        var index = 0
        length &+= UInt64(buffer.count)
        if pendingCount > 0 {
            let take = min(64 - pendingCount, buffer.count)
            let offset = pendingCount
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.advanced(by: offset).copyMemory(from: buffer.baseAddress!, byteCount: take) }
            pendingCount += take
            index = take
            if pendingCount == 64 {
                compressPending()
                pendingCount = 0
            }
        }
        while buffer.count - index >= 64 {
            compress(UnsafeRawBufferPointer(rebasing: buffer[index..<(index + 64)]))
            index += 64
        }
        if index < buffer.count {
            let rest = buffer.count - index
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: buffer.baseAddress!.advanced(by: index), byteCount: rest) }
            pendingCount = rest
        }
    }

    /// The 32-byte digest.
    public func finalize() -> [UInt8] {
        var copy = self
        let bitLength = (length &* 8).bigEndian
        // 0x80, zeros up to 56 mod 64, then the bit length, big-endian.
        let padding = (copy.pendingCount < 56 ? 56 : 120) - copy.pendingCount
        var tail = [UInt8](repeating: 0, count: padding)
        tail[0] = 0x80
        withUnsafeBytes(of: bitLength) { tail.append(contentsOf: $0) }
        tail.withUnsafeBytes { copy.update($0) }
        let words = [copy.state.0, copy.state.1, copy.state.2, copy.state.3, copy.state.4, copy.state.5, copy.state.6, copy.state.7]
        return words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * $0)) } }
    }

    /// Lower-case hex digest of `text`'s UTF-8 bytes.
    public static func hex(of text: String) -> String {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        return hasher.hexDigest
    }

    /// Lower-case hex of ``finalize()``.
    public var hexDigest: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in finalize() {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    private mutating func compressPending() {
        var block = pending
        withUnsafeBytes(of: &block) { compress($0) }
    }

    /// One 64-byte block. Unsafe pointers and a stack-allocated schedule rather than
    /// arrays: the debug build the tests run hashes every disk image with this, and array
    /// bounds checks and a heap schedule per block made that about 1 MB/s, seconds of a
    /// busy cooperative thread per disk.
    private mutating func compress(_ block: UnsafeRawBufferPointer) {
        var (a, b, c, d, e, f, g, h) = state
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for i in 0..<16 { w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            for i in 16..<64 {
                let x = w[i - 15]
                let y = w[i - 2]
                let s0 = ((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3)
                let s1 = ((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            Self.k.withUnsafeBufferPointer { k in
                for i in 0..<64 {
                    let s1 = ((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7))
                    let choice = (e & f) ^ (~e & g)
                    let t1 = h &+ s1 &+ choice &+ k[i] &+ w[i]
                    let s0 = ((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10))
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ majority
                    h = g
                    g = f
                    f = e
                    e = d &+ t1
                    d = c
                    c = b
                    b = a
                    a = t1 &+ t2
                }
            }
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
    }
}
