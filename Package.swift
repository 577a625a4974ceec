// swift-tools-version:6.0
import PackageDescription

// The card's layout: Matrix (pure values) → Hypervisor (sources, builds, images)
// → CIRunner (runs, evidence, service, CLI). Nothing imports upward.
// No package dependencies: only Foundation, Dispatch, Glibc and the system libsqlite3.

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

var targets: [Target] = [
    .target(
        name: "Matrix", path: "Matrix",
        // Optimised in debug builds too: its SHA-256 hashes every disk image and build
        // output, and unoptimised it ran at about 1-5 MB/s, seconds of a busy thread per
        // disk in the debug build the tests run.
        swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
    .target(name: "CSupport", path: "Hypervisor/CSupport"),
    .target(
        name: "Hypervisor", dependencies: ["Matrix", "CSupport"], path: "Hypervisor/Sources"),
    .systemLibrary(
        name: "CSQLite", path: "CIRunner/CSQLite", pkgConfig: "sqlite3",
        providers: [.apt(["libsqlite3-dev"])]),
    .target(
        name: "CIRunner", dependencies: ["Matrix", "Hypervisor", "CSQLite"],
        path: "CIRunner/Sources"),
    .executableTarget(name: "nestci", dependencies: ["CIRunner", "Hypervisor"], path: "CIRunner/nestci"),
    .testTarget(name: "MatrixTests", dependencies: ["Matrix"], path: "Tests/MatrixTests"),
    .testTarget(
        name: "HypervisorTests", dependencies: ["Hypervisor", "Matrix"],
        path: "Tests/HypervisorTests"),
    .testTarget(
        name: "CIRunnerTests", dependencies: ["CIRunner", "Hypervisor", "Matrix"],
        path: "Tests/CIRunnerTests"),
]

// Shared settings in one place, for every Swift target.
for target in targets where target.type != .system && target.name != "CSupport" {
    target.swiftSettings = (target.swiftSettings ?? []) + strict
}

let package = Package(
    name: "nestci",
    products: [.executable(name: "nestci", targets: ["nestci"])],
    targets: targets,
    swiftLanguageModes: [.v6]
)
