// swift-tools-version:6.0
import PackageDescription

// One executable, `gateway`: the supervisor, and (as `gateway worker`) the worker processes it
// spawns. Only the toolchain's own modules and Debian's C libraries; nothing is fetched.
// Release builds of the request path skip the runtime exclusivity checks (the compile-time ones
// stay; debug builds and the tests keep the runtime ones): they cost several percent of the CPU
// per request in the profile (swift_beginAccess on every class property access).
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "llm0-gateway",
    products: [
        .executable(name: "gateway", targets: ["Supervisor"])
    ],
    targets: [
        // What Swift's Glibc module lacks: epoll, signalfd, memfd, prctl, accept4, posix_spawn
        // with a reset signal state, and 64-bit atomics on shared memory.
        .target(name: "CGatewayLinux"),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "Common", dependencies: ["CGatewayLinux"], swiftSettings: hotPath),
        .target(
            name: "Worker", dependencies: ["Common", "CGatewayLinux", "COpenSSL", "CSQLite", "CPostgres"],
            swiftSettings: hotPath),
        .executableTarget(
            name: "Supervisor",
            dependencies: ["Common", "Worker", "CGatewayLinux", "CSystemd"],
            // Release builds link the Swift runtime statically: a worker then maps only the
            // runtime pages it touches instead of whole shared libraries with their relocations
            // (about 2 MB less resident memory per worker). Debug builds link faster without it.
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]
        ),
        .testTarget(name: "CommonTests", dependencies: ["Common"]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "Common"], exclude: ["Golden"]),
        // Starts the real `gateway` binary (built with the package) and talks to it over sockets.
        .testTarget(name: "IntegrationTests", dependencies: ["Common", "CGatewayLinux"], exclude: ["Python", "TLS"]),
    ]
)
