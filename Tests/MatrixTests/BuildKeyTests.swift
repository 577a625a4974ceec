import Testing

@testable import Matrix

@Suite("Build keys")
struct BuildKeyTests {
    @Test("XMHF example: every cell with the same component, opt, bits and options shares one key")
    func xmhfSharing() throws {
        let plan = try MatrixFile.load(path: MatrixFixtures.xmhfExample).plan()
        var keysByGroup: [String: Set<String>] = [:]
        for cell in plan.cells {
            for level in cell.levels {
                guard let spec = level.build else { continue }
                let group = "\(spec.component) \(spec.opt) \(spec.bits) \(spec.variables["options"] ?? "")"
                keysByGroup[group, default: []].insert(spec.key)
            }
        }
        #expect(keysByGroup.values.allSatisfy { $0.count == 1 })
        #expect(Set(keysByGroup.values.flatMap { $0 }).count == plan.builds.count)
        // O0/O3 × i386/amd64 with the default options: 4 keys for xmhf64, however many chains,
        // smp values and backends multiply the cells; the seed's L1 and L2 options add 2 each (O0/O3 i386).
        let xmhf = plan.builds.filter { $0.spec.component == "xmhf64" }
        #expect(xmhf.filter { $0.spec.variables["options"] == "--enable-nested-virtualization --enable-skip-runtime-bss --enable-skip-bootloader-hash" }.count == 4)
        #expect(xmhf.count == 8)
        #expect(plan.cells.count > 4 * 4)
    }

    @Test("cells that differ only in what the build does not use share the build")
    func smpAndBackendShare() throws {
        let plan = try MatrixFixtures.plan(MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0", "O3"], "bits": ["i386", "amd64"], "smp": [1, 2, 4], "backend": ["bochs", "qemu-tcg"]}"#))
        #expect(plan.cells.count == 24)
        #expect(plan.builds.count == 4)
        #expect(plan.builds.allSatisfy { $0.cellIDs.count == 6 })
    }

    @Test("a user axis used by the build command multiplies keys")
    func userAxisInTemplate() throws {
        let text = MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0"], "bits": ["i386"], "flavour": ["a", "b"], "backend": ["bochs"]}"#)
            .replacingOccurrences(of: #""make OPT='{opt}' BITS={bits}""#, with: #""make OPT='{opt}' BITS={bits} F={flavour}""#)
        let plan = try MatrixFixtures.plan(text)
        #expect(plan.builds.count == 2)
        #expect(Set(plan.builds.map { $0.spec.variables["flavour"] }) == ["a", "b"])
    }

    @Test("a revision template takes its value from an axis")
    func revisionFromAxis() throws {
        let plan = try MatrixFile.load(path: MatrixFixtures.demoExample).plan()
        #expect(Set(plan.builds.map(\.spec.revision)) == ["good", "main"])
        #expect(plan.builds.count == 12)
        #expect(plan.cells.count == 12)
    }
}
