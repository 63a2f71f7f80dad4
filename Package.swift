// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "LoopChannels",
    products: [
        // One import for everything: re-exports the four library modules below.
        .library(name: "LoopChannels", targets: ["LoopChannels"]),
        .library(name: "EventLoop", targets: ["EventLoop"]),
        .library(name: "AsyncChannels", targets: ["AsyncChannels"]),
        .library(name: "Hatch", targets: ["Hatch"]),
        .library(name: "ThreadPool", targets: ["LoopThreadPool"]),
        .executable(name: "loop-demo", targets: ["loop-demo"]),
        .executable(name: "loop-server", targets: ["loop-server"]),
        .executable(name: "thread-pool", targets: ["thread-pool"]),
        .executable(name: "pipeline", targets: ["pipeline"]),
        .executable(name: "shared-buffer", targets: ["shared-buffer"]),
    ],
    traits: [
        .trait(
            name: "ServiceLifecycle",
            description: """
                LoopThread, LoopGroup and ThreadPool conform to swift-service-lifecycle's \
                Service, in the LoopChannels module. Off by default: without it a dependent \
                resolves no other package.
                """
        )
    ],
    dependencies: [
        // Resolved only when a dependent (or `--traits ServiceLifecycle`) enables the trait.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0")
    ],
    targets: [
        // The C shim: the Linux calls Glibc does not export, and the current-dispatcher slot.
        .target(name: "CEventLoop"),
        // Internal: the locks, queues, spin policy, clocks and runtime helpers every module
        // builds on. Not a product; its API is `package`.
        .target(name: "LoopUtilities", dependencies: ["CEventLoop"], swiftSettings: swiftSettings),
        .target(name: "EventLoop", dependencies: ["CEventLoop", "LoopUtilities"], swiftSettings: swiftSettings),
        // The channels use the loop for three things: no spin on a busy loop thread, no
        // blocking call that parks a thread running a loop, and the timers of timed waits.
        .target(name: "AsyncChannels", dependencies: ["LoopUtilities", "EventLoop"], swiftSettings: swiftSettings),
        // The hatches use the loop for the select machinery (their receivers are select cases)
        // and, on their blocking and timed waits only, for two things: no blocking call that
        // parks a thread running a loop, and the timers of timed waits.
        .target(name: "Hatch", dependencies: ["LoopUtilities", "EventLoop"], swiftSettings: swiftSettings),
        // The thread pool: plain threads and their job queue, built on the utilities (threads,
        // parkers, the lock, the spin policy). It uses the loop for one thing: a caller on a
        // loop with other ready work does not spin for its job's end. Named `LoopThreadPool`,
        // not `ThreadPool`, so that its `ThreadPool` type does not shadow the module.
        .target(name: "LoopThreadPool", dependencies: ["LoopUtilities", "EventLoop"], swiftSettings: swiftSettings),
        // The umbrella: it re-exports the four library modules and, with the ServiceLifecycle
        // trait, makes the loops and the pool swift-service-lifecycle services.
        .target(
            name: "LoopChannels",
            dependencies: [
                "EventLoop", "AsyncChannels", "Hatch", "LoopThreadPool",
                .product(
                    name: "ServiceLifecycle", package: "swift-service-lifecycle",
                    condition: .when(traits: ["ServiceLifecycle"])
                ),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "loop-demo",
            dependencies: ["EventLoop", "Hatch", "LoopThreadPool"],
            path: "Examples/loop-demo",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "loop-server",
            dependencies: ["EventLoop", "AsyncChannels", "LoopThreadPool", "LoopUtilities"],
            path: "Examples/loop-server",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "thread-pool",
            dependencies: ["EventLoop", "LoopThreadPool"],
            path: "Examples/thread-pool",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "pipeline",
            dependencies: [
                "EventLoop", "AsyncChannels", "LoopThreadPool", "LoopUtilities",
            ],
            path: "Examples/pipeline",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "shared-buffer",
            dependencies: ["EventLoop", "AsyncChannels", "LoopUtilities"],
            path: "Examples/shared-buffer",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CLoopTestSupport",
            path: "Tests/CLoopTestSupport"
        ),
        .target(
            name: "LoopTestSupport",
            dependencies: ["LoopUtilities", "EventLoop", "CLoopTestSupport"],
            path: "Tests/LoopTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoopUtilitiesTests",
            dependencies: ["LoopUtilities", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EventLoopTests",
            dependencies: ["EventLoop", "LoopUtilities", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AsyncChannelsTests",
            dependencies: ["AsyncChannels", "EventLoop", "LoopUtilities", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoopThreadPoolTests",
            dependencies: ["LoopThreadPool", "EventLoop", "LoopUtilities", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoopChannelsTests",
            dependencies: ["LoopChannels"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HatchTests",
            dependencies: ["Hatch", "AsyncChannels", "EventLoop", "LoopUtilities", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
