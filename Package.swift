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
        .executable(name: "loop-demo", targets: ["loop-demo"]),
    ],
    targets: [
        .target(name: "CEventLoop"),
        .target(name: "EventLoop", dependencies: ["CEventLoop"], swiftSettings: swiftSettings),
        .target(name: "AsyncChannels", dependencies: ["EventLoop"], swiftSettings: swiftSettings),
        .target(name: "Hatch", dependencies: ["EventLoop"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "loop-demo",
            dependencies: ["EventLoop", "AsyncChannels", "Hatch"],
            path: "Examples/loop-demo",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoopTestSupport",
            dependencies: ["EventLoop"],
            path: "Tests/LoopTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EventLoopTests",
            dependencies: ["EventLoop", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AsyncChannelsTests",
            dependencies: ["AsyncChannels", "EventLoop", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HatchTests",
            dependencies: ["Hatch", "EventLoop", "LoopTestSupport"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
