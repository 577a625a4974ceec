import Foundation
import Matrix

/// A command's declared options and arguments, and the small hand-written parser for
/// them (the project takes no packages).
public struct CommandSpec: Sendable {
    public struct Option: Sendable {
        /// Long name without dashes: `json` for `--json`.
        public var name: String
        /// Placeholder for its value (`DIR`), or `nil` for a flag.
        public var value: String?
        public var help: String
        public var repeatable: Bool

        public init(_ name: String, value: String? = nil, repeatable: Bool = false, help: String) {
            self.name = name
            self.value = value
            self.help = help
            self.repeatable = repeatable
        }
    }

    public struct Argument: Sendable {
        public var name: String
        public var help: String
        public var optional: Bool
        /// Takes all remaining positionals.
        public var variadic: Bool

        public init(_ name: String, optional: Bool = false, variadic: Bool = false, help: String) {
            self.name = name
            self.help = help
            self.optional = optional
            self.variadic = variadic
        }
    }

    public var name: String
    public var summary: String
    public var discussion: String
    public var arguments: [Argument]
    public var options: [Option]

    public init(name: String, summary: String, discussion: String = "", arguments: [Argument] = [], options: [Option] = []) {
        self.name = name
        self.summary = summary
        self.discussion = discussion
        self.arguments = arguments
        self.options = options
    }

    /// `nestci plan [--json] FILE`.
    public var usage: String {
        var parts = ["nestci", name]
        if !options.isEmpty { parts.append("[options]") }
        for argument in arguments {
            let name = argument.variadic ? "\(argument.name)..." : argument.name
            parts.append(argument.optional ? "[\(name)]" : name)
        }
        return parts.joined(separator: " ")
    }

    /// The text of `nestci help NAME`.
    public var helpText: String {
        var lines = ["usage: \(usage)", "", summary]
        if !discussion.isEmpty { lines += ["", discussion] }
        if !arguments.isEmpty {
            lines += ["", "arguments:"]
            lines += arguments.map { "  " + $0.name.padding(toLength: 22, withPad: " ", startingAt: 0) + " " + $0.help }
        }
        lines += ["", "options:"]
        for option in options {
            let flag = "--\(option.name)" + (option.value.map { " \($0)" } ?? "")
            lines.append("  " + flag.padding(toLength: 22, withPad: " ", startingAt: 0) + " " + option.help)
        }
        lines.append("  " + "-h, --help".padding(toLength: 22, withPad: " ", startingAt: 0) + " show this help")
        return lines.joined(separator: "\n")
    }

    /// Parses `arguments` (without the command name).
    public func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            if argument == "-h" || argument == "--help" {
                parsed.helpRequested = true
                continue
            }
            guard argument.hasPrefix("--") else {
                throw UsageError("unknown option \(argument) (nestci uses long options such as --json)", command: self)
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let option = options.first(where: { $0.name == name }) else {
                let hint = DidYouMean.suggestion(for: name, among: options.map(\.name)).map { " (did you mean --\($0)?)" } ?? ""
                throw UsageError("unknown option --\(name)\(hint)", command: self)
            }
            if let placeholder = option.value {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else if index < arguments.count {
                    value = arguments[index]
                    index += 1
                } else {
                    throw UsageError("--\(name) needs a value (\(placeholder))", command: self)
                }
                if !option.repeatable, parsed.values[name] != nil {
                    throw UsageError("--\(name) given twice (give it once)", command: self)
                }
                parsed.values[name, default: []].append(value)
            } else {
                if inlineValue != nil { throw UsageError("--\(name) is a flag and takes no value", command: self) }
                parsed.flags.insert(name)
            }
        }
        if parsed.helpRequested { return parsed }
        let required = self.arguments.filter { !$0.optional }.count
        let variadic = self.arguments.contains { $0.variadic }
        if parsed.positionals.count < required {
            let missing = self.arguments.filter { !$0.optional }[parsed.positionals.count...].map(\.name)
            throw UsageError("missing \(missing.joined(separator: " and "))", command: self)
        }
        if !variadic, parsed.positionals.count > self.arguments.count {
            throw UsageError("unexpected argument \"\(parsed.positionals[self.arguments.count])\"", command: self)
        }
        return parsed
    }
}

/// What the user typed, sorted into flags, option values and positionals.
public struct ParsedArguments: Sendable {
    public var positionals: [String] = []
    public var flags: Set<String> = []
    public var values: [String: [String]] = [:]
    public var helpRequested = false

    public func flag(_ name: String) -> Bool { flags.contains(name) }
    public func value(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }

    /// An integer option within `range`.
    public func int(_ name: String, in range: ClosedRange<Int>, command: CommandSpec) throws(UsageError) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("--\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"", command: command)
        }
        return number
    }
}

/// A mistake in how nestci was called: exit status 64.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var usage: String?

    public init(_ message: String, command: CommandSpec? = nil) {
        self.message = message
        self.usage = command.map { "usage: \($0.usage)\nsee: nestci help \($0.name)" }
    }

    public var description: String { usage.map { "\(message)\n\($0)" } ?? message }
}
