// SPDX-License-Identifier: Apache-2.0
import ServiceLifecycle

extension HealthMonitor: Service {
    /// Checks and warms the backends from now until the group shuts down gracefully, then stops and
    /// waits for the checks in progress to end (their transfers are cancelled, so that is prompt).
    /// The daemon places it first, so it stops after the HTTP front end has drained: routing uses
    /// health to the end of the drain, and no check is cut by the transport's shutdown.
    public func run() async {
        start()
        try? await gracefulShutdown()
        stop()
        await waitUntilStopped()
    }
}
