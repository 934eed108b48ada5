// SPDX-License-Identifier: Apache-2.0
/// Reads the `spark_bridge:` section into `BridgeSettings`. Key paths in its messages are relative
/// to the section (`timeouts.connect_seconds`), as the user reads them under `spark_bridge:`.
enum BridgeSettingsSection {
    static let unknownNote = "unknown key; ignored"

    /// Fills `settings` from `node`; returns `spark_bridge.master_key` if set.
    static func read(_ node: YAMLNode, into settings: inout BridgeSettings, context: ConfigReadContext) -> Secret? {
        guard var section = context.mapping(node, path: "spark_bridge", childPrefix: "") else { return nil }
        defer { section.warnAboutUnread(unknownNote) }

        section.read("listen", into: &settings.listen) { listen($0, $1, context: context) }
        section.read("control_socket", into: &settings.controlSocket) { node, path in
            guard let text = context.nonEmptyString(node, path) else { return nil }
            guard text.hasPrefix("/") else {
                context.fail(at: node.location, "\(path): expected an absolute path, got \(node.summary)")
                return nil
            }
            return text
        }
        section.read("control_socket_group", into: &settings.controlSocketGroup, context.nonEmptyString)
        let masterKey = section.take("master_key", context.secret)
        section.read("default_model", into: &settings.defaultModel, context.nonEmptyString)
        section.read("max_body_bytes", into: &settings.maxBodyBytes) { context.integer($0, $1) }
        section.read("drain_deadline_seconds", into: &settings.drainDeadline) { context.seconds($0, $1, allowZero: true) }
        section.read("log_level", into: &settings.logLevel) { node, path in
            guard let text = context.string(node, path) else { return nil }
            let name = text.lowercased() == "warn" ? "warning" : text.lowercased()
            guard let level = LogLevel(rawValue: name) else {
                let names = LogLevel.allCases.map(\.rawValue).joined(separator: ", ")
                context.fail(at: node.location, "\(path): expected one of \(names), got \(node.summary)")
                return nil
            }
            return level
        }
        section.read("retry_on_context_overflow", into: &settings.retryOnContextOverflow, context.bool)
        section.read("rescue_qwen_xml", into: &settings.rescueQwenXML, context.bool)
        if let keepalive = section.take("keepalive_seconds", { context.seconds($0, $1, allowZero: true) }) {
            settings.keepalive = keepalive == .zero ? nil : keepalive
        }
        section.read("preserve_thinking", into: &settings.preserveThinking, context.bool)

        if let node = section.take("timeouts"), var timeouts = context.mapping(node, path: section.path("timeouts")) {
            timeouts.read("connect_seconds", into: &settings.timeouts.connect, context.positiveSeconds)
            timeouts.read("first_byte_seconds", into: &settings.timeouts.firstByte, context.positiveSeconds)
            timeouts.read("idle_seconds", into: &settings.timeouts.idle, context.positiveSeconds)
            timeouts.read("paused_stream_seconds", into: &settings.timeouts.pausedStream, context.positiveSeconds)
            timeouts.read("total_seconds", into: &settings.timeouts.total, context.positiveSeconds)
            timeouts.warnAboutUnread(unknownNote)
        }
        if let node = section.take("limits"), var limits = context.mapping(node, path: section.path("limits")) {
            limits.read("max_connections", into: &settings.limits.maxConnections) { context.integer($0, $1) }
            limits.read("header_timeout_seconds", into: &settings.limits.headerTimeout, context.positiveSeconds)
            limits.read("body_timeout_seconds", into: &settings.limits.bodyTimeout, context.positiveSeconds)
            limits.read("keep_alive_timeout_seconds", into: &settings.limits.keepAliveTimeout, context.positiveSeconds)
            if let deadline = limits.take("request_deadline_seconds", { context.seconds($0, $1, allowZero: true) }) {
                settings.limits.requestDeadline = deadline == .zero ? nil : deadline
            }
            limits.warnAboutUnread(unknownNote)
        }
        if let node = section.take("health"), var health = context.mapping(node, path: section.path("health")) {
            health.read("interval_seconds", into: &settings.health.interval, context.positiveSeconds)
            health.read("timeout_seconds", into: &settings.health.timeout, context.positiveSeconds)
            health.read("failures_before_down", into: &settings.health.failuresBeforeDown) { context.integer($0, $1) }
            health.read("successes_before_up", into: &settings.health.successesBeforeUp) { context.integer($0, $1) }
            health.read("read_backend_metrics", into: &settings.health.readBackendMetrics, context.bool)
            health.warnAboutUnread(unknownNote)
            if settings.health.timeout > settings.health.interval {
                context.fail(
                    at: context.location(of: health.path("timeout_seconds")),
                    "\(health.path("timeout_seconds")): must not exceed health.interval_seconds"
                )
            }
        }
        if let node = section.take("warmup"), var warmup = context.mapping(node, path: section.path("warmup")) {
            warmup.read("enabled", into: &settings.warmup.enabled, context.bool)
            if let interval = warmup.take("interval_seconds", { context.seconds($0, $1, allowZero: true) }) {
                settings.warmup.interval = interval == .zero ? nil : interval
            }
            warmup.read("max_tokens", into: &settings.warmup.maxTokens) { context.integer($0, $1) }
            warmup.warnAboutUnread(unknownNote)
        }
        if let node = section.take("routing") {
            RoutingSection.read(node, into: &settings.routing, context: context)
        }
        return masterKey
    }

    /// `listen`: one `HOST:PORT` string or a non-empty list of them, without repeats.
    private static func listen(_ node: YAMLNode, _ path: String, context: ConfigReadContext) -> [ListenAddress]? {
        let items: [(YAMLNode, String)]
        switch node.content {
        case .scalar: items = [(node, path)]
        case .sequence(let nodes): items = nodes.enumerated().map { ($1, "\(path)[\($0)]") }
        case .mapping:
            context.fail(at: node.location, "\(path): expected HOST:PORT or a list of them, got a mapping")
            return nil
        }
        guard !items.isEmpty else {
            context.fail(at: node.location, "\(path): expected at least one HOST:PORT")
            return nil
        }
        var addresses: [ListenAddress] = []
        var valid = true
        for (item, itemPath) in items {
            guard let text = context.string(item, itemPath) else {
                valid = false
                continue
            }
            do {
                let address = try ListenAddress(parsing: text)
                if addresses.contains(address) {
                    context.fail(at: item.location, "\(itemPath): \(address) is listed twice")
                    valid = false
                }
                addresses.append(address)
            } catch {
                context.fail(at: item.location, "\(itemPath): \(error.reason), got \(item.summary)")
                valid = false
            }
        }
        return valid ? addresses : nil
    }
}
