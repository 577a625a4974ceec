import Foundation

/// One result row of `Database.query`, with typed access by column name or index.
///
/// Typed getters throw (with the column named) when the column is missing, NULL or of another
/// type, so a schema mismatch shows up as a message instead of a silent zero.
public struct Row: Sendable, Hashable {
    /// Column names in result order (shared by all rows of one query).
    public let columns: [String]
    /// Values in result order.
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of `column`, or nil when the result has no such column.
    public subscript(_ column: String) -> SQLValue? {
        columns.firstIndex(of: column).map { values[$0] }
    }

    /// The value at `index` in result order.
    public subscript(_ index: Int) -> SQLValue { values[index] }

    public func int64(_ column: String) throws -> Int64 {
        try typed(column, "an integer") { $0.int64 }
    }

    public func int(_ column: String) throws -> Int {
        Int(try int64(column))
    }

    public func double(_ column: String) throws -> Double {
        try typed(column, "a number") { $0.double }
    }

    public func string(_ column: String) throws -> String {
        try typed(column, "text") { $0.string }
    }

    public func data(_ column: String) throws -> Data {
        try typed(column, "a blob") { $0.data }
    }

    /// True when `column` holds NULL; throws when there is no such column.
    public func isNull(_ column: String) throws -> Bool {
        try value(column).isNull
    }

    /// The raw value of `column`; throws when there is no such column.
    public func value(_ column: String) throws -> SQLValue {
        guard let value = self[column] else {
            throw RowError(message: "no column \"\(column)\" in the result (columns: \(columns.joined(separator: ", ")))")
        }
        return value
    }

    private func typed<T>(_ column: String, _ what: String, _ get: (SQLValue) -> T?) throws -> T {
        let value = try value(column)
        guard let typed = get(value) else {
            throw RowError(message: "column \"\(column)\" is \(value), expected \(what)")
        }
        return typed
    }
}

/// A typed getter of `Row` found a missing column or a value of another type.
public struct RowError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
