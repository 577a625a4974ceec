import Foundation
import Hypervisor
import Matrix

/// `nestci serve`: the nightly service.
enum ServeCommand {
    static let spec = CommandSpec(
        name: "serve", summary: "run the service: schedules, branch polling, the run queue, the dashboard",
        discussion: """
            Runs the matrices of the config on their schedules (an unchanged revision set is not run again),
            polls watched branches with git ls-remote (a moved branch starts a run once it has been still for
            debounceSeconds), and runs what `nestci trigger` queued. One run at a time; before each, a known-good
            kernel boots on every backend it uses (host canary): a backend that fails makes its cells INFRA. Restarted after a crash
            it resumes the interrupted run, keeping its finished cells. SIGTERM/SIGINT: stops taking work, tears
            down emulators and builds, records the run as interrupted, exits within 10 s.
            See deploy/service.json.example, deploy/nestci.service, deploy/nginx.conf.
            """,
        options: [
            CommonOptions.store,
            .init("config", value: "FILE", help: "the service config (service.json)"),
            .init("verbose", help: "debug logging"),
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        guard let configPath = arguments.value("config") else { throw UsageError("--config FILE is required (see deploy/service.json.example)", command: spec) }
        let config = try ServiceConfig.load(path: URL(fileURLWithPath: configPath).standardizedFileURL.path)
        let store = CommonOptions.storePath(arguments)
        let logger = Logger.standardError(minimumLevel: arguments.flag("verbose") ? .debug : .info)
        let dashboard = config.dashboard ?? "\(store)/dashboard"
        let loop = ServiceLoop(config: config, storePath: store, logger: logger, dashboard: dashboard)
        SignalTrap.installGraceful { _ in Task { await loop.stop() } }
        try await loop.run()
        return .success
    }
}
