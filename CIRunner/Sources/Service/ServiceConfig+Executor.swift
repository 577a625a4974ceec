import Foundation
import Matrix

/// The service config's `"executor"`: `"local"` (default), `"slurm"`, or
/// `{"kind": "slurm", "partition": P, "account": A, "spool": DIR, "cache": DIR,
/// "constraints": {"qemu-kvm": "kvm"}, "cellsPerTask": N}`. Clients find the cluster as any Slurm client does
/// (SLURM_CONF in the service's environment).
extension ServiceConfig {
    static let executorKeys = ["kind", "partition", "account", "spool", "cache", "constraints", "cellsPerTask"]

    static func executor(_ top: ConfigObject, base: URL, issues: ConfigIssues) -> ExecutorChoice {
        guard let value = top["executor"] else { return .local }
        let kind: String
        var slurm = SlurmOptions()
        if case .string(let text) = value.kind {
            kind = text
        } else if let object = top.object("executor", what: "\"local\", \"slurm\" or an object {\"kind\": \"slurm\", …}") {
            object.rejectUnknownKeys(executorKeys, what: "executor")
            kind = object.string("kind", required: true) ?? "slurm"
            for key in ["partition", "account"] {
                guard let name = object.string(key) else { continue }
                do { try SlurmOptions.checkName(name, what: key) } catch { issues.report(object.childPath(key), object[key], "\(error)"); continue }
                if key == "partition" { slurm.partition = name } else { slurm.account = name }
            }
            slurm.spool = object.string("spool").map { URL(fileURLWithPath: $0, relativeTo: base).standardizedFileURL.path }
            slurm.cache = object.string("cache").map { URL(fileURLWithPath: $0, relativeTo: base).standardizedFileURL.path }
            if let perTask = object.int("cellsPerTask", range: 1...1000) { slurm.cellsPerTask = perTask }
            if let constraints = object.stringMap("constraints") {
                slurm.constraints = [:]
                for (name, feature) in constraints {
                    guard let backend = Backend(rawValue: name) else {
                        issues.report("\(object.childPath("constraints")).\(name)", object["constraints"], "unknown backend \"\(name)\" (expected \(Backend.allCases.map(\.rawValue).joined(separator: ", ")))")
                        continue
                    }
                    if feature.isEmpty { continue }
                    do { try SlurmOptions.checkName(feature, what: "constraint") } catch { issues.report(object.childPath("constraints"), object["constraints"], "\(error)"); continue }
                    slurm.constraints[backend] = feature
                }
            }
        } else {
            return .local
        }
        switch kind {
        case "local": return .local
        case "slurm": return .slurm(slurm)
        default:
            issues.report("executor", value, "unknown executor \"\(kind)\" (expected local or slurm)")
            return .local
        }
    }
}
