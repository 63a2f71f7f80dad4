// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// SwiftPM names a path dependency after its folder (`main`, a worktree's name, a CI clone's
// name), not after its manifest's `name`, so derive it from where this package sits.
let rootPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "LoopChannels")

let package = Package(
    name: "LoopChannelsBenchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", exact: "1.1.4"),
        .package(url: "https://github.com/apple/swift-collections.git", exact: "1.6.0"),
        // Counts malloc calls in-process: its dynamic library defines malloc/free, and linking
        // it into the executable puts it ahead of libc in symbol resolution.
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", exact: "1.6.1"),
    ],
    targets: [
        // eventfd(2) for the `eventfd-floor` peer: Glibc's Swift overlay does not export it.
        .target(name: "CBenchSupport"),
        .executableTarget(
            name: "loop-bench",
            dependencies: [
                "CBenchSupport",
                .product(name: "EventLoop", package: rootPackage),
                .product(name: "AsyncChannels", package: rootPackage),
                .product(name: "Hatch", package: rootPackage),
                .product(name: "ThreadPool", package: rootPackage),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
