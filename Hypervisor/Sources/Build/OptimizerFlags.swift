import Foundation
import Matrix

/// Why the optimiser flags of a compiler could not be listed.
public struct OptimizerFlagsError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// The compiler could not be started or failed.
        case compilerFailed
        /// Its output held no `[enabled]`/`[disabled]` line (not GCC?).
        case unparsable
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The `-f` optimisation flags a compiler enables at one -O level and not at another: the
/// candidates of -O triage (#13), from `gcc -Q --help=optimizers`.
public enum OptimizerFlags {
    /// The flags known to turn undefined behaviour into wrong code, tried first because a
    /// hit names the bug's kind. Beyond the three:
    /// - `-fisolate-erroneous-paths-dereference`: turns a provable NULL dereference into a trap.
    /// - `-faggressive-loop-optimizations`: uses signed-overflow/out-of-bounds UB to bound loops.
    /// - `-fipa-pure-const`, `-fipa-reference`: assume functions without asm-visible side effects,
    ///   wrong when a hypervisor changes memory behind the compiler's back (VMCS, MMIO).
    /// - `-ftree-vrp`: value ranges derived from UB (overflow, shifts) delete checks.
    public static let undefinedBehaviourFirst = [
        "-fstrict-aliasing", "-fstrict-overflow", "-fdelete-null-pointer-checks",
        "-fisolate-erroneous-paths-dereference", "-faggressive-loop-optimizations",
        "-fipa-pure-const", "-fipa-reference", "-ftree-vrp",
    ]

    /// What a flag's dependence says about the bug, for the report.
    public static let meaning: [String: String] = [
        "-fstrict-aliasing": "typical of type punning through incompatible pointers",
        "-fstrict-overflow": "typical of code relying on signed overflow wrapping",
        "-fdelete-null-pointer-checks": "typical of a NULL check after a dereference",
        "-fisolate-erroneous-paths-dereference": "typical of a dereference of a pointer that can be NULL",
        "-faggressive-loop-optimizations": "typical of a loop relying on signed overflow or reading out of bounds",
        "-fipa-pure-const": "typical of memory changed behind the compiler's back (missing volatile or clobber)",
        "-fipa-reference": "typical of memory changed behind the compiler's back (missing volatile or clobber)",
        "-ftree-vrp": "typical of a range check the compiler proved dead through undefined behaviour",
    ]

    /// The flag that disables `flag`: `-fno-X` for `-fX`; `-fwrapv` for `-fstrict-overflow`
    /// (GCC ≥ 8 makes `-fno-strict-overflow` mean `-fwrapv -fwrapv-pointer`; `-fwrapv`
    /// alone is the defined-overflow switch developers know).
    public static func disabling(_ flag: String) -> String {
        if flag == "-fstrict-overflow" { return "-fwrapv" }
        if flag.hasPrefix("-fno-") { return "-f" + flag.dropFirst(5) }
        return "-fno-" + flag.dropFirst(2)
    }

    /// Parses `gcc -Q --help=optimizers` output: each `-fX [enabled]` or `[disabled]`
    /// line, as flag → enabled. Lines with values (`-falign-functions= 16`) and flags GCC
    /// lists without a state are skipped.
    public static func parse(_ output: String) -> [String: Bool] {
        var states: [String: Bool] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2, words[0].hasPrefix("-f"), !words[0].hasSuffix("=") else { continue }
            switch words[1] {
            case "[enabled]": states[String(words[0])] = true
            case "[disabled]": states[String(words[0])] = false
            default: continue
            }
        }
        return states
    }

    /// The flags enabled in `high` and not in `low`, undefined-behaviour ones first (in
    /// ``undefinedBehaviourFirst`` order), then the rest by name.
    ///
    /// GCC ≥ 8 lists no `-fstrict-overflow` (signed overflow is undefined at every level,
    /// exploited only when optimising: `-fwrapv` is `[disabled]` everywhere) and no state
    /// for `-fdelete-null-pointer-checks` (target-dependent, on for x86, acting only when
    /// optimising): when `high` is an optimising level (it enables something `low` does
    /// not) these two count as candidates too, since they are what `-O` adds in effect.
    public static func candidates(low: [String: Bool], high: [String: Bool]) -> [String] {
        var enabled = Set(high.filter { $0.value && low[$0.key] != true }.keys)
        if !enabled.isEmpty {
            if high["-fstrict-overflow"] == nil, high["-fwrapv"] == false { enabled.insert("-fstrict-overflow") }
            if high["-fdelete-null-pointer-checks"] == nil { enabled.insert("-fdelete-null-pointer-checks") }
        }
        let first = undefinedBehaviourFirst.filter(enabled.contains)
        return first + enabled.subtracting(first).sorted()
    }

    /// The bitness flag `gcc -Q` needs to answer for the cell's target (`-m32` for i386).
    public static func bitnessFlags(_ bits: Bits) -> [String] {
        bits == .i386 ? ["-m32"] : ["-m64"]
    }

    /// Runs `compiler -Q --help=optimizers` at each level (supervised, 60 s) and returns
    /// the candidates enabled at `high` and not at `low`.
    ///
    /// - Parameter environment: the build's environment (its PATH names the compiler).
    public static func candidates(
        compiler: String, low: OptLevel, high: OptLevel, bits: Bits, environment: [String: String] = [:]
    ) async throws -> [String] {
        let lowStates = try await query(compiler: compiler, level: low, bits: bits, environment: environment)
        let highStates = try await query(compiler: compiler, level: high, bits: bits, environment: environment)
        return candidates(low: lowStates, high: highStates)
    }

    static func query(compiler: String, level: OptLevel, bits: Bits, environment: [String: String]) async throws -> [String: Bool] {
        let arguments = ["-Q", "--help=optimizers", "-\(level.rawValue)"] + bitnessFlags(bits)
        let spec = ProcessSpec(compiler, arguments, environment: environment, timeout: .seconds(60), outputLimit: 1 << 20)
        let command = spec.commandLine
        let result: ProcessResult
        do {
            result = try await SupervisedProcess.run(spec)
        } catch {
            throw OptimizerFlagsError(.compilerFailed, "cannot start `\(command)`: \(error); is the cell's compiler installed?")
        }
        guard result.succeeded else {
            throw OptimizerFlagsError(.compilerFailed, "`\(command)` \(result.summary): \(result.output.prefix(300))")
        }
        let states = parse(result.output)
        guard !states.isEmpty else {
            throw OptimizerFlagsError(.unparsable, "`\(command)` listed no `[enabled]`/`[disabled]` flag; -O triage needs a GCC-compatible compiler")
        }
        return states
    }
}
