import Foundation
import Matrix
import Testing

@testable import CIRunner

/// Issue 12/13 "In the service": per-matrix `bisect` and `triage` settings in service.json.
@Suite("Service config: bisect and triage")
struct InvestigationConfigTests {
    @Test("read with defaults; bad values and keys named by JSON path")
    func settings() throws {
        let folder = try ServiceConfigTests.Folder()
        defer { folder.remove() }
        let path = try folder.write("""
            {"matrices": [
              {"path": "matrices/xmhf64-nightly.json", "schedule": {"everyHours": 6}, "bisect": {"auto": true, "maxSteps": 8, "maxHours": 2}, "triage": {"auto": true, "maxBuilds": 30}},
              {"path": "matrices/demo.json", "schedule": {"everyHours": 6}}
            ]}
            """)
        let config = try ServiceConfig.load(path: path)
        #expect(config.matrices[0].bisect == .init(auto: true, maxSteps: 8, maxHours: 2))
        #expect(config.matrices[0].triage == .init(auto: true, maxBuilds: 30))
        #expect(config.matrices[1].bisect == .init() && !config.matrices[1].bisect.auto && config.matrices[1].bisect.maxSteps == 12)
        #expect(config.matrices[1].triage.maxBuilds == 40)

        let issues = try ServiceConfigTests.issues("""
            {"matrices": [
              {"path": "matrices/demo.json", "schedule": {"everyHours": 6}, "bisect": {"auto": "yes", "maxStep": 3, "maxHours": 0}, "triage": {"maxBuilds": 1.5}}
            ]}
            """, in: folder).map(\.description)
        #expect(issues.contains { $0.contains("matrices[0].bisect.auto: expected true or false, found a string") })
        #expect(issues.contains { $0.contains("matrices[0].bisect.maxStep: unknown key \"maxStep\" in bisect settings (did you mean \"maxSteps\"?)") })
        #expect(issues.contains { $0.contains("matrices[0].bisect.maxHours: 0 is out of range (expected a whole number from 1 to 168 (hours))") })
        #expect(issues.contains { $0.contains("matrices[0].triage.maxBuilds: expected a whole number from 1 to 10000 (builds), found a fraction") })
    }
}
