// swift-tools-version:6.1
// SPDX-License-Identifier: Apache-2.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "spark-bridge",
    products: [
        .library(name: "BridgeCore", targets: ["BridgeCore"]),
        .library(name: "BridgeConfig", targets: ["BridgeConfig"]),
        .library(name: "BridgeUpstream", targets: ["BridgeUpstream"]),
        .library(name: "BridgeServer", targets: ["BridgeServer"]),
        .library(name: "ControlProtocol", targets: ["ControlProtocol"]),
        .executable(name: "sparkctl", targets: ["sparkctl"]),
        .executable(name: "spark-bridge", targets: ["spark-bridge"]),
        .library(name: "VLLMSimulator", targets: ["VLLMSimulator"]),
        .executable(name: "vllm-sim", targets: ["vllm-sim"]),
        .executable(name: "spark-bench", targets: ["spark-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The daemon's services (HTTP, control socket, health monitor, reload) under one ServiceGroup.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Allocation counting for core-bench only (a preloaded malloc interposer); nothing ships with it.
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
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
        // libsystemd: sd_notify, sd_journal_sendv, socket activation; Debian package libsystemd-dev.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The daemon: NIO HTTP front end, routing, streaming relay over BridgeUpstream.
        .target(
            name: "BridgeServer",
            dependencies: [
                "BridgeCore", "BridgeJSON", "BridgeConfig", "BridgeUpstream", "CSystemd", "ControlProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Requests and reports of the control socket, shared by the daemon and sparkctl. FoundationEssentials only
        // (like every target linked into spark-bridge: Foundation would bring ICU, about 6 MB of idle RSS).
        .target(name: "ControlProtocol", swiftSettings: strictSettings),
        // The control client: verbs over the control socket, tables or --json, and `check` (no daemon).
        .executableTarget(
            name: "sparkctl",
            dependencies: [
                "ControlProtocol", "BridgeConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "ControlProtocolTests", dependencies: ["ControlProtocol"], swiftSettings: strictSettings),
        // The control socket server, peer checks, and the real sparkctl binary against it.
        .testTarget(
            name: "ControlPlaneTests",
            dependencies: [
                "BridgeServer", "BridgeConfig", "ControlProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "spark-bridge",
            dependencies: [
                "BridgeServer", "BridgeConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // vLLM OpenAI-server simulator: scripted answers, token pacing, request recording. Test backend.
        .target(
            name: "VLLMSimulator",
            dependencies: [
                "BridgeJSON",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
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
        .testTarget(
            name: "VLLMSimulatorTests",
            dependencies: [
                "VLLMSimulator",
                "BridgeJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Deterministic benchmark inputs: a Claude Code-size request, vLLM chunk streams (vllm-sim's encoder).
        .target(
            name: "BenchWorkloads",
            dependencies: ["BridgeJSON", "VLLMSimulator"],
            path: "Benchmarks/BenchWorkloads",
            swiftSettings: strictSettings
        ),
        // Microbenchmarks of the translation core with allocation counts; re-execs itself under
        // LD_PRELOAD of the interposer. `swift build -c release --product core-bench`.
        .executableTarget(
            name: "core-bench",
            dependencies: [
                "BenchWorkloads", "BridgeCore", "BridgeJSON", "BridgeConfig",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BenchWorkloadsTests",
            dependencies: ["BenchWorkloads", "BridgeCore", "BridgeJSON"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "BridgeJSONTests", dependencies: ["BridgeJSON"], swiftSettings: strictSettings),
        .testTarget(
            name: "BridgeCoreTests",
            dependencies: ["BridgeCore", "BridgeJSON"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "BridgeConfigTests", dependencies: ["BridgeConfig"], swiftSettings: strictSettings),
        // Health monitor, warmup and routing against in-process vllm-sim servers and a real bridge.
        .testTarget(
            name: "BridgeServerTests",
            dependencies: [
                "BridgeServer", "BridgeConfig", "BridgeUpstream", "BridgeJSON", "VLLMSimulator", "ControlProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Closed-loop HTTP/1.1 load generator on NIO (Anthropic and OpenAI streams); `make bench` drives it.
        .target(
            name: "LoadGenerator",
            dependencies: [
                "BridgeJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Benchmarks/LoadGenerator",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: [
                "LoadGenerator", "VLLMSimulator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // `make bench`: the simulator directly, spark-bridge and LiteLLM side by side; writes BENCHMARKS.md.
        .executableTarget(
            name: "spark-bench",
            dependencies: [
                "LoadGenerator", "BenchWorkloads", "BridgeCore", "BridgeJSON", "VLLMSimulator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/spark-bench",
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (Fuzz/Targets/<name>, seed corpus in Fuzz/Corpus/<name>): declared only when
// SPARK_BRIDGE_FUZZ=1, as `make fuzz` sets it with its own scratch path (.build-fuzz) and
// `-sanitize=fuzzer,address`; they need libFuzzer's runtime, so a plain `swift build` never sees them.
if Context.environment["SPARK_BRIDGE_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("fuzz-json", ["BridgeJSON"]),
        ("fuzz-request", ["BridgeCore", "BridgeJSON"]),
        ("fuzz-stream", ["BridgeCore", "BridgeJSON"]),
        ("fuzz-upstream-error", ["BridgeCore", "BridgeJSON"]),
        ("fuzz-config", ["BridgeConfig"]),
        ("fuzz-control", ["ControlProtocol"]),
        ("fuzz-metrics", ["ControlProtocol"]),
        ("fuzz-relay", ["BridgeCore"]),
    ]
    package.targets += [
        // libFuzzer's driver entry point (the runtime comes with `-sanitize=fuzzer`).
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        // `runFuzzer`: each target's `@main` hands the process to libFuzzer with its test function.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Fuzz/FuzzSupport", swiftSettings: strictSettings),
    ]
    for target in fuzzTargets {
        package.targets.append(.executableTarget(
            name: target.name, dependencies: target.dependencies + ["FuzzSupport"], path: "Fuzz/Targets/\(target.name)",
            swiftSettings: strictSettings + [.unsafeFlags(["-parse-as-library"])]
        ))
        package.products.append(.executable(name: target.name, targets: [target.name]))
    }
}
