// swift-tools-version:6.1
import PackageDescription

// LoopChannels beside the Swift server ecosystem: its swift-service-lifecycle services tested
// in a real ServiceGroup, and an example server on Hummingbird. A package of its own so that
// the library's package depends on nothing.

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// SwiftPM names a path dependency after its folder (`main`, a worktree's name, a CI clone's
// name), not after its manifest's `name`, so derive it from where this package sits.
let rootPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "LoopChannels")

let package = Package(
    name: "LoopChannelsIntegrations",
    dependencies: [
        .package(path: "..", traits: ["ServiceLifecycle"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .executableTarget(
            name: "hummingbird-server",
            dependencies: [
                .product(name: "LoopChannels", package: rootPackage),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceLifecycleTests",
            dependencies: [
                .product(name: "LoopChannels", package: rootPackage),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
