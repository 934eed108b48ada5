// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import ControlProtocol
import Logging
import NIOConcurrencyHelpers

/// The daemon's one reload, shared by SIGHUP (``HangupReloader``) and `sparkctl reload`: rereads the
/// configuration file and swaps it in atomically; a bad file leaves the running configuration in
/// place and says why. Requests in flight finish on the snapshot they started with.
///
/// systemd hears `RELOADING=1` then `READY=1` around every reload, with the rejection in `STATUS=`
/// when the file was refused. Reloads never overlap: a second one waits for the first.
public final class ConfigReloader: Sendable {
    /// The file reread.
    public let path: String
    private let context: BridgeContext
    private let environment: [String: String]
    private let notifier: SystemdNotifier
    private let lock = NIOLock()

    /// A reloader of `path` into `context`, with `${VAR}` taken from `environment`.
    public init(path: String, context: BridgeContext, environment: [String: String], notifier: SystemdNotifier) {
        self.path = path
        self.context = context
        self.environment = environment
        self.notifier = notifier
    }

    /// Rereads the file and applies it: what changed, or every error as `file:line:column: message`.
    public func reload() -> Result<ReloadReport, ControlFailure> {
        lock.withLock {
            notifier.reloading()
            let logger = context.logger
            let old = context.configuration
            do throws(ConfigError) {
                let loaded = try ConfigLoader.load(path: path, environment: environment)
                for warning in loaded.warnings { logger.warning("\(warning)") }
                if let shortage = FileDescriptorLimit.ensure(for: loaded.configuration.settings.limits) { logger.warning("\(shortage)") }
                if let warning = loaded.configuration.aliases.claudeCodeWarning { logger.warning("\(warning)") }
                context.replaceConfiguration(loaded.configuration)
                let diff = ConfigDiff(from: old, to: loaded.configuration)
                let summary = diff.isEmpty ? "no changes" : diff.lines.joined(separator: "; ")
                logger.notice("configuration reloaded from \(path): \(summary)")
                notifier.ready(status: context.statusLine)
                return .success(ReloadReport(diff, warnings: loaded.warnings))
            } catch {
                logger.error("reload rejected, the running configuration stays: \(error)")
                notifier.status("reload rejected: \(error.diagnostics.first.map(\.description) ?? "\(error)") | \(context.statusLine)")
                notifier.notify("READY=1")
                return .failure(ControlFailure(error))
            }
        }
    }
}
