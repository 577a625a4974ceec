import Foundation
import Testing

@testable import Matrix

/// Issue 10 §6/§7: no input traps the reader, exhausts it, or forges its messages; names
/// and command lines that would escape the store or GRUB's line are refused at plan time.
@Suite("Matrix input robustness")
struct InputRobustnessTests {
    static let goodAxes = #"{"chain": ["alone"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]}"#

    static func syntaxError(_ text: String) -> JSONParser.SyntaxError? {
        do {
            _ = try JSONParser.parse(text)
            return nil
        } catch {
            return error
        }
    }

    // MARK: JSON

    @Test("a lone or reversed surrogate is an error at the escape, not a trap")
    func surrogates() throws {
        let lone = try #require(Self.syntaxError(#"{"name": "x\ud800\u0041"}"#))
        #expect(lone.line == 1 && lone.column == 12)
        #expect(lone.message.contains("first half of a surrogate pair"))
        #expect(Self.syntaxError(#"["\ud800"]"#)?.message.contains("no \\uDC00-\\uDFFF escape follows") == true)
        #expect(Self.syntaxError(#"["\udc00"]"#)?.message.contains("second half") == true)
        #expect(Self.syntaxError(#"["\ud800\ud800"]"#) != nil)
        let pair = try JSONParser.parse(#"["\ud83d\ude00\u00e9\u0000"]"#)
        #expect(pair == JSONValue(.array([JSONValue(.string("😀é\u{0}"))])))
        // Through the matrix reader: a located error, as `nestci plan` prints it.
        #expect(MatrixFixtures.issues(#"{"name": "x\ud800\u0041"}"#).first?.hasPrefix("m.json:1:12: invalid JSON: invalid \\u escape") == true)
    }

    @Test("leading zeros are rejected; 0, -0, 0.5 and 10 are numbers")
    func leadingZeros() throws {
        let error = try #require(Self.syntaxError("[1,\n 01]"))
        #expect(error.line == 2 && error.column == 2)
        #expect(error.message.contains("leading zero"))
        #expect(Self.syntaxError("-01") != nil)
        #expect(Self.syntaxError("[0, -0, 0.5, 10, 1e3, 0e1]") == nil)
    }

    @Test("columns count characters, not bytes")
    func columnsInCharacters() throws {
        let error = try #require(Self.syntaxError("{\"é€😀\": [}"))
        // { " é € 😀 " : space [ → the } is the 10th character (16 bytes in).
        #expect(error.column == 10)
        let value = try JSONParser.parse("[\"ééé\", 1]")
        guard case .array(let elements) = value.kind else { return }
        #expect(elements[1].column == 9)
    }

    // MARK: Size

    @Test("a 30,000-character chain name gets no did-you-mean table and a short message")
    func longChainName() {
        let long = String(repeating: "c", count: 30_000)
        let text = MatrixFixtures.matrix(axes: #"{"chain": ["\#(long)x"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]}"#)
            .replacingOccurrences(of: #""alone": {"#, with: #""\#(long)": {"#)
        let issues = MatrixFixtures.issues(text)
        #expect(!issues.isEmpty)
        #expect(issues.allSatisfy { $0.count < 600 }, "echoed names are cut to about 80 characters")
        #expect(issues.contains { $0.contains("…") })
    }

    @Test("edit distance: two rows, a band, the same answers")
    func editDistance() {
        #expect(DidYouMean.editDistance("plna", "plan") == 1)
        #expect(DidYouMean.editDistance("kitten", "sitting") == 3)
        #expect(DidYouMean.editDistance("", "abc") == 3)
        #expect(DidYouMean.editDistance("revison", "revision") == 1)
        #expect(DidYouMean.suggestion(for: "revison", among: ["repository", "revision"]) == "revision")
        #expect(DidYouMean.suggestion(for: String(repeating: "a", count: 100_000), among: [String(repeating: "a", count: 100_001)]) == nil)
    }

    @Test("100k unknown keys: the first 100 problems and a count of the rest")
    func manyUnknownKeys() {
        let keys = (0..<100_000).map { "\"k\($0)\": 1" }.joined(separator: ", ")
        let issues = MatrixFixtures.issues("{\(keys)}")
        #expect(issues.count == Diagnostics.maxIssues + 1)
        #expect(issues.last?.contains("more problems not shown") == true)
    }

    @Test("duplicate keys among 100k are found (by a set)")
    func duplicateAmongMany() throws {
        let keys = (0..<100_000).map { "\"k\($0)\": 1" }.joined(separator: ", ")
        let error = try #require(Self.syntaxError("{\(keys), \"k5\": 2}"))
        #expect(error.message.hasPrefix(#"duplicate key "k5""#))
    }

    @Test("excludes are matched by index: the same cells as a naive match")
    func excludesByIndex() throws {
        let plan = try MatrixFixtures.plan(
            MatrixFixtures.matrix(
                axes: #"{"chain": ["alone", "nested"], "opt": ["O0", "O2", "O3"], "bits": ["i386", "amd64"], "backend": ["bochs", "qemu-tcg"], "u": ["a", "b", "c"]}"#,
                extra: #""exclude": [{"opt": "O2", "u": "b"}, {"chain": "nested", "bits": "i386", "backend": "bochs"}, {"opt": "O2", "u": "b"}, {"u": "c", "opt": "O0", "bits": "amd64", "chain": "alone", "backend": "bochs"}]"#))
        let remaining = plan.cells.map(\.values)
        #expect(!remaining.contains { $0["opt"] == "O2" && $0["u"] == "b" })
        #expect(!remaining.contains { $0["chain"] == "nested" && $0["bits"] == "i386" && $0["backend"] == "bochs" })
        #expect(!remaining.contains { $0 == ["u": "c", "opt": "O0", "bits": "amd64", "chain": "alone", "backend": "bochs", "smp": "1"] })
        // 72 combinations; 8 with O2/b; 9 nested/i386/bochs (1 of them O2/b); 1 more.
        #expect(plan.cells.count + plan.dropped.count == 72 - 8 - 8 - 1)
    }

    // MARK: Messages

    @Test("newlines, CRs and terminal escapes from the file are escaped in every message")
    func escapedMessages() {
        var text = MatrixFixtures.matrix(axes: #"{"chain": ["alone\n\u001b[31mFAKE"], "opt": ["O0\r"], "bits": ["i386"], "backend": ["bochs"]}"#)
        text = text.replacingOccurrences(of: #""revision": "main","#, with: #""revision": "main", "evil\u001b]0;title\u0007\u2028": 1,"#)
        let issues = MatrixFixtures.issues(text)
        #expect(issues.count >= 3)
        for issue in issues {
            #expect(!issue.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" }, "raw control in: \(issue)")
        }
        #expect(issues.contains { $0.contains(#""alone\n\u{1B}[31mFAKE""#) })
        #expect(issues.contains { $0.contains(#"axes.opt[0]: "O0\r" contains a control character (\r)"#) })
    }

    // MARK: Paths and GRUB (§7)

    @Test("a component named ../../../../tmp/x is refused with its JSON path")
    func traversalComponentName() {
        let text = MatrixFixtures.matrix(axes: Self.goodAxes).replacingOccurrences(of: #""guest""#, with: #""../../../../tmp/x""#)
        let issues = MatrixFixtures.issues(text)
        #expect(issues.contains { $0.contains(#"components["../../../../tmp/x"]: bad component name: "../../../../tmp/x" contains "/""#) })
    }

    @Test("chain, matrix and output names are path-safe")
    func otherNames() {
        var text = MatrixFixtures.matrix(axes: #"{"chain": ["a b"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]}"#)
        text = text.replacingOccurrences(of: #""alone": {"#, with: #""a b": {"#)
            .replacingOccurrences(of: #""name": "t""#, with: #""name": ".hidden""#)
            .replacingOccurrences(of: #""outputs": {"k": "g.bin"}"#, with: #""outputs": {"k": "g.bin", "..": "x"}"#)
        let issues = MatrixFixtures.issues(text)
        #expect(issues.contains { $0.contains(#"chains["a b"]: bad chain name: "a b" contains a space"#) })
        #expect(issues.contains { $0.contains(#"name: bad matrix name: ".hidden" starts with ".""#) })
        #expect(issues.contains { $0.contains(#"components.guest.build.outputs[".."]: bad output name"#) })
    }

    @Test("an output template whose value climbs out of the worktree is refused at plan time")
    func traversalOutput() {
        let text = MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"], "o": ["../../../../etc/hostname"]}"#)
            .replacingOccurrences(of: #""outputs": {"k": "g.bin"}"#, with: #""outputs": {"k": "g.bin", "extra": "{o}"}"#)
        let issues = MatrixFixtures.issues(text)
        #expect(issues.contains { $0.contains(#"components.guest.build.outputs.extra: output "extra" of guest in this cell: "../../../../etc/hostname" climbs out of the worktree"#) })
        let absolute = MatrixFixtures.matrix(axes: Self.goodAxes).replacingOccurrences(of: #""outputs": {"k": "g.bin"}"#, with: #""outputs": {"k": "/etc/passwd"}"#)
        #expect(MatrixFixtures.issues(absolute).contains { $0.contains("is absolute") })
    }

    @Test("a kernel command line with a newline or other control character is refused")
    func commandLines() {
        let level = MatrixFixtures.matrix(axes: Self.goodAxes)
            .replacingOccurrences(of: #"[{"component": "guest"}]"#, with: #"[{"component": "guest", "cmdline": "mode=fail\nmultiboot /pass"}]"#)
        #expect(MatrixFixtures.issues(level).contains { $0.contains(#"chains.alone.levels[0].cmdline: "mode=fail\nmultiboot /pass" contains a control character (\n)"#) })
        let component = MatrixFixtures.matrix(axes: Self.goodAxes).replacingOccurrences(of: #""boot": {"kernel": "k"}},"#, with: #""boot": {"kernel": "k", "cmdline": "a\u0007"}},"#)
        #expect(MatrixFixtures.issues(component).contains { $0.contains("components.hv.boot.cmdline:") })
        // A value that reaches the command line through a level variable is checked as rendered.
        let rendered = MatrixFixtures.matrix(axes: Self.goodAxes)
            .replacingOccurrences(of: #"[{"component": "guest"}]"#, with: #"[{"component": "guest", "cmdline": "mode={m}", "vars": {"m": "x\ny"}}]"#)
        #expect(MatrixFixtures.issues(rendered).contains { $0.contains("chains.alone.levels[0].cmdline: the kernel command line of guest in this cell:") })
    }

    @Test("axis values with control characters are refused")
    func axisValues() {
        let text = MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"], "u": ["a\tb"]}"#)
        #expect(MatrixFixtures.issues(text).contains { $0.contains(#"axes.u[0]: "a\tb" contains a control character"#) })
    }

    // MARK: {name:q}

    @Test("{name} is raw shell text; {name:q} is one single-quoted word")
    func quotedPlaceholder() throws {
        let template = Template("make X={v} Y={v:q} Z={e:q}")
        #expect(template.placeholders == ["v", "e"])
        let value = "a'b $(touch pwned) `id`"
        #expect(try template.expand(["v": value, "e": ""]) == #"make X=a'b $(touch pwned) `id` Y='a'\''b $(touch pwned) `id`' Z=''"#)
        #expect(Template.render("make -j{jobs:q} {v:q}", ["v": "x y"]) == "make -j{jobs:q} 'x y'")
        // The quoted form is accepted by validation like the plain one.
        let text = MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"], "u": ["x y"]}"#)
            .replacingOccurrences(of: "make OPT='{opt}' BITS={bits}\"", with: "make OPT='{opt}' BITS={bits} U={u:q}\"")
        let plan = try MatrixFixtures.plan(text)
        #expect(plan.builds.first?.spec.variables["u"] == "x y")
    }

    @Test("the quoted form survives a real shell with every awkward character")
    func quotedInShell() throws {
        let value = "it's $(echo no) `echo no` \"q\" \\ * ; & | \n end"
        let command = try Template("printf %s {v:q}").expand(["v": value])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(String(decoding: data, as: UTF8.self) == value)
    }
}
