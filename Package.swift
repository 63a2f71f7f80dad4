// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "LoopChannels",
    products: [
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
    dependencies: [
        // Examples only (the pipeline's SHA-256); the library targets depend on no package.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3")
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
        .executableTarget(
            name: "loop-demo",
            dependencies: ["EventLoop", "AsyncChannels", "Hatch", "ExampleSupport"],
            path: "Examples/loop-demo",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "loop-server",
            dependencies: ["EventLoop", "AsyncChannels", "Hatch", "ExampleSupport", "LoopUtilities"],
            path: "Examples/loop-server",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "thread-pool",
            dependencies: ["EventLoop", "AsyncChannels", "Hatch", "ExampleSupport"],
            path: "Examples/thread-pool",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "pipeline",
            dependencies: [
                "EventLoop", "AsyncChannels", "Hatch", "ExampleSupport", "LoopUtilities",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Examples/pipeline",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "shared-buffer",
            dependencies: ["EventLoop", "AsyncChannels", "Hatch", "ExampleSupport", "LoopUtilities"],
            path: "Examples/shared-buffer",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ExampleSupport",
            dependencies: ["AsyncChannels", "LoopUtilities"],
            path: "Examples/Support",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoopTestSupport",
            dependencies: ["LoopUtilities", "EventLoop"],
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
            name: "HatchTests",
            dependencies: ["Hatch", "AsyncChannels", "EventLoop", "LoopUtilities", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
