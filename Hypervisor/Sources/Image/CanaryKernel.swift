/// The host canary's guest: a known-good multiboot (v1) kernel of 131 bytes, assembled
/// here so that nestci needs no build, no compiler and no file from its source tree to check
/// a host (unlike the fixture kernels, which are test data).
///
/// It sets up COM1 at 115200 8n1, prints ``marker`` and halts. The header uses multiboot's
/// address fields (flag bit 16), so GRUB's `multiboot` and qemu's `-kernel` load it as a
/// flat image at 1 MiB without an ELF header.
public enum CanaryKernel {
    /// The line the kernel prints once it runs.
    public static let marker = "NESTCI CANARY OK"

    /// Where the image loads and runs (1 MiB, above the BIOS area).
    static let loadAddress: UInt32 = 0x10_0000

    /// The image's bytes.
    public static var image: [UInt8] {
        var code: [UInt8] = [0xFC]  // cld: lodsb walks forward
        // 16550 set-up: IER off, DLAB, divisor 1 (115200), 8n1, FIFOs on, DTR+RTS.
        for (port, value): (UInt16, UInt8) in [(0x3F9, 0), (0x3FB, 0x80), (0x3F8, 1), (0x3F9, 0), (0x3FB, 3), (0x3FA, 0xC7), (0x3FC, 3)] {
            code += [0x66, 0xBA, UInt8(port & 0xFF), UInt8(port >> 8), 0xB0, value, 0xEE]  // mov dx, port; mov al, value; out dx, al
        }
        let messageOperand = code.count + 1
        code += [0xBE, 0, 0, 0, 0]  // mov esi, message
        code += [
            0x66, 0xBA, 0xFD, 0x03,  // next: mov dx, 0x3fd (line status)
            0xEC, 0xA8, 0x20, 0x74, 0xFB,  // wait: in al, dx; test al, 0x20; jz wait (transmitter busy)
            0xAC, 0x84, 0xC0, 0x74, 0x07,  // lodsb; test al, al; jz done
            0x66, 0xBA, 0xF8, 0x03, 0xEE,  // mov dx, 0x3f8; out dx, al
            0xEB, 0xEB,  // jmp next
            0xFA, 0xF4, 0xEB, 0xFD,  // done: cli; hlt; jmp hlt
        ]
        let message = Array("\(marker)\r\n".utf8) + [0]
        let headerSize = 32
        let total = UInt32(headerSize + code.count + message.count)
        let messageAddress = loadAddress + UInt32(headerSize + code.count)
        code.replaceSubrange(messageOperand..<messageOperand + 4, with: littleEndian(messageAddress))
        let magic: UInt32 = 0x1BAD_B002, flags: UInt32 = 1 << 16
        let header = [
            magic, flags, 0 &- (magic &+ flags),
            loadAddress,  // header_addr: the header is the image's first byte
            loadAddress,  // load_addr
            loadAddress + total,  // load_end_addr
            0,  // bss_end_addr: no bss
            loadAddress + UInt32(headerSize),  // entry_addr: right after the header
        ].flatMap(littleEndian)
        return header + code + message
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
