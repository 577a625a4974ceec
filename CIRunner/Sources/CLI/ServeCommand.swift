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
            debounceSeconds), and runs what `nestci trigger` queued. One run at a time. Restarted after a crash
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
        let publisher = ThrottledPublisher(store: store, folder: dashboard, logger: logger.with("component", "dashboard"))
        let loop = ServiceLoop(config: config, storePath: store, logger: logger, onChange: { await publisher.publishSoon() })
        SignalTrap.installGraceful { _ in Task { await loop.stop() } }
        try await loop.run()
        await publisher.publishNow()
        return .success
    }
}

/// Publishes the dashboard at most once per `interval`, and once more after the last request.
actor ThrottledPublisher {
    let storePath: String
    let folder: String
    let logger: Logger
    let interval: Duration
    private var last: ContinuousClock.Instant?
    private var pending = false
    /// One connection for the service's lifetime, opened on first use.
    private var store: ArtifactStore?

    init(store: String, folder: String, logger: Logger, interval: Duration = .seconds(2)) {
        self.storePath = store
        self.folder = folder
        self.logger = logger
        self.interval = interval
    }

    func publishSoon() async {
        let clock = ContinuousClock()
        if let last, clock.now - last < interval {
            guard !pending else { return }
            pending = true
            try? await Task.sleep(until: last + interval)
            pending = false
        }
        await publishNow()
    }

    func publishNow() async {
        last = ContinuousClock.now
        do {
            let store = try self.store ?? ArtifactStore(root: storePath)
            self.store = store
            try await DashboardPublisher(store: store, folder: folder, logger: logger).publish()
        } catch {
            logger.warning("dashboard not updated: \(error)")
        }
    }
}

