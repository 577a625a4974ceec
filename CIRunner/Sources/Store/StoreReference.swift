import Foundation
import Matrix

/// What a command names in the store: `RUN`, `RUN/CELL`, or `RUN/CELL#n` (the n-th VMCS
/// dump, 1-based). Parsing refuses anything that could leave the store (`..`, absolute paths,
/// extra slashes); resolving also refuses folders that are symbolic links out of it.
public struct StoreReference: Sendable, Equatable, CustomStringConvertible {
    public var runID: String
    public var cellID: String?
    /// 1-based dump number after `#`.
    public var dumpNumber: Int?

    public init(runID: String, cellID: String? = nil, dumpNumber: Int? = nil) {
        self.runID = runID
        self.cellID = cellID
        self.dumpNumber = dumpNumber
    }

    public var description: String {
        runID + (cellID.map { "/\($0)" } ?? "") + (dumpNumber.map { "#\($0)" } ?? "")
    }

    /// Parses `text`; a usage error (exit 64) says what a reference looks like.
    public static func parse(_ text: String) throws -> StoreReference {
        let shape = "a store reference is RUN, RUN/CELL or RUN/CELL#n (ids from `nestci runs` and `nestci show RUN`)"
        var body = Substring(text)
        var dumpNumber: Int?
        if let hash = body.firstIndex(of: "#") {
            guard let number = Int(body[body.index(after: hash)...]), number >= 1 else {
                throw StoreError(.badReference, "\"\(text)\": the number after # must be a dump number from 1 (\(shape))")
            }
            dumpNumber = number
            body = body[..<hash]
        }
        if body.hasPrefix("/") {
            throw StoreError(.badReference, "\"\(text)\" is an absolute path, not a store reference (\(shape))")
        }
        var parts = body.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, parts[1].isEmpty { parts.removeLast() }  // `RUN/` means the run
        for part in parts where part == ".." || part == "." {
            throw StoreError(.badReference, "\"\(text)\" tries to leave the store with \"\(part)\" (\(shape))")
        }
        guard (1...2).contains(parts.count) else {
            throw StoreError(.badReference, "\"\(text)\" has too many parts (\(shape))")
        }
        for part in parts where !StoreFiles.isSafeComponent(part) {
            throw StoreError(.badReference, "\"\(text)\": \"\(part)\" is not a run or cell id (\(shape))")
        }
        return StoreReference(runID: parts[0], cellID: parts.count == 2 ? parts[1] : nil, dumpNumber: dumpNumber)
    }

    /// True when `text` is shaped like a reference (used to tell references from file names).
    public static func looksLikeReference(_ text: String) -> Bool { (try? parse(text)) != nil }
}

extension ArtifactStore {
    /// The folder a reference names, checked: the run (and cell) exist in the index and on
    /// disk, and the folder, links resolved, is inside `<store>/runs`.
    public func folder(for reference: StoreReference) throws -> String {
        guard try run(reference.runID) != nil else {
            let known = try runs(limit: 200).map(\.id)
            let hint = DidYouMeanID.suggestion(for: reference.runID, among: known).map { " (did you mean \($0)?)" } ?? ""
            throw StoreError(.notFound, "no run \(reference.runID) in \(root)\(hint); `nestci runs --store \(root)` lists them")
        }
        var folder = layout.run(reference.runID)
        if let cellID = reference.cellID {
            let cellIDs = try cells(runID: reference.runID).map(\.cellID)
            guard cellIDs.contains(cellID) else {
                let hint = DidYouMeanID.suggestion(for: cellID, among: cellIDs).map { " (did you mean \($0)?)" } ?? ""
                throw StoreError(.notFound, "run \(reference.runID) has no recorded cell \(cellID)\(hint); `nestci show \(reference.runID)` lists its cells")
            }
            folder = layout.cell(reference.runID, cellID)
        }
        guard StoreFiles.isDirectory(folder), StoreFiles.isInside(folder, folder: layout.runs) else {
            throw StoreError(.badReference, "\(reference) does not resolve to a folder inside \(layout.runs) (a symbolic link out of the store?); refusing to read it")
        }
        return folder
    }
}

/// Did-you-mean for ids: a shared prefix is the usual slip (a truncated run id).
enum DidYouMeanID {
    static func suggestion(for id: String, among candidates: [String]) -> String? {
        let prefixed = candidates.filter { $0.hasPrefix(id) || id.hasPrefix($0) }
        if prefixed.count == 1 { return prefixed[0] }
        return DidYouMean.suggestion(for: id, among: candidates)
    }
}
