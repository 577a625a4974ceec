import Testing

@testable import Matrix

@Suite("Stable cell ids")
struct StableIDTests {
    static let axes = #"{"chain": ["alone", "nested"], "opt": ["O0", "O3"], "bits": ["amd64"], "smp": [1, 2], "backend": ["bochs"]}"#
    static let reordered = #"{"backend": ["bochs"], "smp": [2, 1], "bits": ["amd64"], "opt": ["O3", "O0"], "chain": ["nested", "alone"]}"#

    @Test("reordering axes, values and keys does not change ids")
    func reorderingKeepsIDs() throws {
        let original = try MatrixFixtures.plan(MatrixFixtures.matrix(axes: Self.axes))
        let shuffled = try MatrixFixtures.plan(MatrixFixtures.matrix(axes: Self.reordered))
        #expect(Set(original.cells.map(\.id)) == Set(shuffled.cells.map(\.id)))
        for cell in original.cells {
            let twin = try #require(shuffled.cell(cell.id))
            #expect(twin.values == cell.values)
        }
    }

    @Test("changing a value changes the id")
    func changingAValueChangesID() throws {
        let base = try MatrixFixtures.plan(MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0"], "bits": ["amd64"], "backend": ["bochs"]}"#))
        let changed = try MatrixFixtures.plan(MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0"], "bits": ["amd64"], "backend": ["qemu-tcg"]}"#))
        #expect(base.cells[0].id != changed.cells[0].id)
    }

    @Test("ids are short lower-case hex, the same on every run")
    func idShape() {
        let id = Cell.id(for: ["chain": "alone", "opt": "O0", "bits": "amd64", "smp": "1", "backend": "bochs"])
        #expect(id.count == 10 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(id == Cell.id(for: ["backend": "bochs", "smp": "1", "bits": "amd64", "opt": "O0", "chain": "alone"]))
    }
}
