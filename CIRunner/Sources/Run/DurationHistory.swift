import Foundation

/// How long each cell took to boot in the latest earlier run of the same matrix, so the
/// scheduler can start the longest cells first.
public enum DurationHistory {
    public static func load(layout: RunLayout, matrix: String) -> [String: Double] {
        guard let runs = try? FileManager.default.contentsOfDirectory(atPath: layout.runs) else { return [:] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        // Run ids sort by time; the newest finished run of this matrix wins.
        for run in runs.sorted(by: >) {
            guard let data = FileManager.default.contents(atPath: "\(layout.run(run))/\(RunLayout.resultsFile)"),
                let results = try? decoder.decode(RunResults.self, from: data), results.matrix == matrix
            else { continue }
            return Dictionary(results.cells.map { ($0.cellID, $0.bootSeconds) }, uniquingKeysWith: max)
        }
        return [:]
    }
}
