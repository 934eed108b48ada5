// swift-tools-version:6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "spark-bridge",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "BridgeCore", targets: ["BridgeCore"]),
        .library(name: "VLLMSimulator", targets: ["VLLMSimulator"]),
        .executable(name: "vllm-sim", targets: ["vllm-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // JSON value, parser and writer: order-preserving, numbers kept as written.
        .target(name: "BridgeJSON", swiftSettings: strictSettings),
        // Anthropic Messages <-> OpenAI Chat Completions translation. Pure: no I/O.
        .target(name: "BridgeCore", dependencies: ["BridgeJSON"], swiftSettings: strictSettings),
        // vLLM OpenAI-server simulator: scripted answers, token pacing, request recording. Test backend.
        .target(
            name: "VLLMSimulator",
            dependencies: [
                "BridgeJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "vllm-sim",
            dependencies: [
                "VLLMSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "BridgeJSONTests", dependencies: ["BridgeJSON"], swiftSettings: strictSettings),
        .testTarget(
            name: "BridgeCoreTests",
            dependencies: ["BridgeCore", "BridgeJSON"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VLLMSimulatorTests",
            dependencies: [
                "VLLMSimulator",
                "BridgeJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
