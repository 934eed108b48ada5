// SPDX-License-Identifier: Apache-2.0
import ControlProtocol

/// What the control socket can ask the daemon; the daemon implements it, `ControlServer` calls it.
///
/// One call per request, on no particular thread; calls from several `sparkctl`s may overlap.
/// Report types live in `ControlProtocol`; `AliasesReport(_:)`, `ReloadReport(_:warnings:)` and
/// `ControlFailure(_:)` build them from `BridgeConfig` values.
public protocol ControlCommands: Sendable {
    /// `sparkctl status`.
    func status() async -> StatusReport
    /// `sparkctl health`.
    func health() async -> HealthReport
    /// `sparkctl aliases`: the aliases of the configuration new requests use.
    func aliases() async -> AliasesReport
    /// `sparkctl reload`: reread the file and swap it in; on failure keep the running configuration and
    /// say why (a `ControlFailure(configError)` lists each `file:line:column`).
    func reload() async -> Result<ReloadReport, ControlFailure>
    /// `sparkctl drain`: refuse new requests (all, or those for `backend`) and wait up to `timeout`
    /// (nil: `drain_deadline_seconds`) for those in flight, then cut the rest.
    func drain(timeout: Duration?, backend: String?) async -> Result<DrainReport, ControlFailure>
    /// `sparkctl resume`: take requests again (all, or for `backend`).
    func resume(backend: String?) async -> Result<ResumeReport, ControlFailure>
    /// `sparkctl top`: traffic per alias and per backend over the last minute.
    func activity() async -> ActivityReport
    /// `sparkctl trace`: a new reader of request events (of `alias`, or all; with bodies when
    /// `bodies`, which the caller has checked the peer may read).
    func trace(alias: String?, bodies: Bool) -> TraceSubscription
    /// `sparkctl env`: what Claude Code needs, for `alias` (nil: Claude Code's default names), with the
    /// master key only when `withKey`.
    func claudeEnv(alias: String?, withKey: Bool) async -> Result<ClaudeEnvReport, ControlFailure>
}

extension ControlCommands {
    /// A daemon that cannot tell says so.
    public func claudeEnv(alias: String?, withKey: Bool) async -> Result<ClaudeEnvReport, ControlFailure> {
        .failure(ControlFailure(message: "this daemon does not answer claude_env"))
    }
}
