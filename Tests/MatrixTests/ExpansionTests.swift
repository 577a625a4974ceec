import Testing

@testable import Matrix

@Suite("Matrix expansion")
struct ExpansionTests {
    @Test("the cartesian product of every axis")
    func cartesian() throws {
        let plan = try MatrixFixtures.plan(MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0", "O2", "O3"], "bits": ["i386", "amd64"], "smp": [1, 2], "backend": ["qemu-tcg"]}"#))
        #expect(plan.cells.count == 3 * 2 * 2)
        #expect(Set(plan.cells.map(\.id)).count == 12)
    }

    @Test("exclude removes every cell matching all its values")
    func exclude() throws {
        let plan = try MatrixFixtures.plan(
            MatrixFixtures.matrix(
                axes: #"{"chain": ["alone"], "opt": ["O0", "O3"], "bits": ["i386", "amd64"], "backend": ["qemu-tcg", "bochs"]}"#,
                extra: #""exclude": [{"opt": "O3", "backend": "bochs"}]"#))
        #expect(plan.cells.count == 8 - 2)
        #expect(!plan.cells.contains { $0.opt == .O3 && $0.backend == .bochs })
    }

    @Test("include extends matching cells without overwriting original values")
    func includeExtends() throws {
        let plan = try MatrixFixtures.plan(
            MatrixFixtures.matrix(
                axes: #"{"chain": ["alone"], "opt": ["O0", "O3"], "bits": ["i386"], "backend": ["qemu-tcg"]}"#,
                extra: #""include": [{"opt": "O3", "note": "slow"}, {"note2": "all"}]"#))
        #expect(plan.cells.count == 2)
        let o3 = try #require(plan.cells.first { $0.opt == .O3 })
        let o0 = try #require(plan.cells.first { $0.opt == .O0 })
        #expect(o3.values["note"] == "slow")
        #expect(o0.values["note"] == nil)
        #expect(o0.values["note2"] == "all" && o3.values["note2"] == "all")
    }

    @Test("include that matches no cell adds a new one")
    func includeAdds() throws {
        let plan = try MatrixFixtures.plan(
            MatrixFixtures.matrix(
                axes: #"{"chain": ["alone"], "opt": ["O0"], "bits": ["i386"], "backend": ["qemu-tcg"]}"#,
                extra: #""include": [{"opt": "Os", "bits": "amd64", "backend": "bochs"}]"#))
        #expect(plan.cells.count == 2)
        let added = try #require(plan.cells.first { $0.opt == .Os })
        #expect(added.bits == .amd64 && added.backend == .bochs && added.smp == 1 && added.chain == "alone")
    }

    @Test("an amd64 level cannot run under an i386 level: such cells are dropped, with the reason")
    func validity() throws {
        let text = MatrixFixtures.matrix(axes: #"{"chain": ["nested"], "opt": ["O0"], "bits": ["i386", "amd64"], "backend": ["bochs"]}"#)
            .replacingOccurrences(of: #"{"component": "hv"}, {"component": "guest"}"#, with: #"{"component": "hv", "bits": "i386"}, {"component": "guest"}"#)
        let plan = try MatrixFixtures.plan(text)
        #expect(plan.cells.count == 1)
        #expect(plan.cells[0].levels.map(\.bits) == [.i386, .i386])
        #expect(plan.dropped.count == 1)
        #expect(plan.dropped[0].reason == "an amd64 level (guest) cannot run under an i386 level (hv)")
    }

    @Test("an include that adds an impossible cell is an error")
    func includeInvalid() {
        let text = MatrixFixtures.matrix(
            axes: #"{"chain": ["nested"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]}"#,
            extra: #""include": [{"bits": "amd64", "opt": "O3"}]"#
        ).replacingOccurrences(of: #"{"component": "hv"}, {"component": "guest"}"#, with: #"{"component": "hv", "bits": "i386"}, {"component": "guest"}"#)
        #expect(MatrixFixtures.issues(text) == ["m.json: include[0]: adds a cell that cannot exist: an amd64 level (guest) cannot run under an i386 level (hv)"])
    }

    @Test("a level can take its opt from another axis")
    func levelAxisReference() throws {
        let text = MatrixFixtures.matrix(axes: #"{"chain": ["nested"], "opt": ["O0", "O3"], "l2opt": ["O1", "O2"], "bits": ["amd64"], "backend": ["bochs"]}"#)
            .replacingOccurrences(of: #"{"component": "guest"}]"#, with: #"{"component": "guest", "opt": "$l2opt"}]"#)
        let plan = try MatrixFixtures.plan(text)
        #expect(plan.cells.count == 4)
        #expect(Set(plan.cells.map { "\($0.levels[0].opt!.rawValue)/\($0.levels[1].opt!.rawValue)" }) == ["O0/O1", "O0/O2", "O3/O1", "O3/O2"])
    }
}
