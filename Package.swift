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
        .library(name: "BridgeConfig", targets: ["BridgeConfig"]),
        .library(name: "BridgeUpstream", targets: ["BridgeUpstream"]),
    ],
    targets: [
        // JSON value, parser and writer: order-preserving, numbers kept as written.
        .target(name: "BridgeJSON", swiftSettings: strictSettings),
        // Anthropic Messages <-> OpenAI Chat Completions translation. Pure: no I/O.
        .target(name: "BridgeCore", dependencies: ["BridgeJSON"], swiftSettings: strictSettings),
        // libyaml, through its pkg-config name; Debian package libyaml-dev.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // YAML -> typed, validated configuration snapshot; LiteLLM model_list compatible.
        .target(name: "BridgeConfig", dependencies: ["CYAML"], swiftSettings: strictSettings),
        // Non-variadic C wrappers over libcurl (Swift cannot call variadic C). Its module map links curl.
        .target(name: "CCurl"),
        // Upstream HTTP transport: libcurl's multi interface driven by one dedicated thread.
        .target(name: "BridgeUpstream", dependencies: ["CCurl"], swiftSettings: strictSettings),
        .testTarget(name: "BridgeUpstreamTests", dependencies: ["BridgeUpstream"], swiftSettings: strictSettings),
        .testTarget(name: "BridgeJSONTests", dependencies: ["BridgeJSON"], swiftSettings: strictSettings),
        .testTarget(
            name: "BridgeCoreTests",
            dependencies: ["BridgeCore", "BridgeJSON"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "BridgeConfigTests", dependencies: ["BridgeConfig"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
