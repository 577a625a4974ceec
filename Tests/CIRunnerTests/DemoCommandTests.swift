import Foundation
import Testing

@testable import CIRunner

extension RealProcessSuite {
/// The README's first command, end to end: `nestci demo` builds both revisions at
/// O0/O2/O3 × i386/amd64, boots the 12 cells under Bochs, then bisects the O2/i386 failure.
@Suite("nestci demo", .serialized, .enabled(if: BootTools.bochs, "needs Bochs, GRUB tools and gcc-multilib"))
struct DemoCommandTests {
    @Test("ends with the -O-only finding naming the VMCS link pointer, the revision regression, and exit 0")
    func demo() async throws {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-demo-cmd-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: store) }
        let (console, output) = Console.capturing()
        let status = await NestCI.main(["demo", "--store", store], console: console)
        let out = output.out
        #expect(status == 0, "\(output.err)\n\(out.suffix(2000))")
        #expect(out.contains("12 cells: 8 PASS, 4 FAIL"))
        #expect(out.contains("[-O only] minivisor i386 (rev=main): passes at O0, fails at O2, O3"))
        #expect(out.contains("[-O only] minivisor amd64 (rev=main): passes at O0, fails at O2, O3"))
        #expect(out.contains("rev=good passes, rev=main fails at O2, O3"))
        #expect(out.contains("0x2800  VMCS link pointer (guest_VMCS_link_pointer_full)   0xffffffffffffffff → 0x0000000000000000"))
        #expect(out.contains("demo: as expected"))
        // The bisection of O2/i386 from tag good names the planted bug's commit in ⌈log2 13⌉ steps.
        let line = try #require(out.split(separator: "\n").first { $0.hasPrefix("first bad commit: minivisor ") }, "\(out.suffix(3000))")
        #expect(line.contains("\"vmcs: compose 64-bit link pointer from 32-bit halves\" (nestci demo, "), "\(line)")
        #expect(line.contains(" 4 steps,") || line.contains(" 3 steps,"), "\(line)")
        #expect(out.contains("confirm parent: "))
        // The -O triage (#13) ends it: the flag and the unit the demo repository compiles.
        #expect(out.hasSuffix("demo: the O2/O3 failure needs -fstrict-aliasing; the unit: vmcs_link.c\n"), "\(out.suffix(1500))")
        #expect(FileManager.default.fileExists(atPath: "\(store)/dashboard/index.html"))
    }
}
}
