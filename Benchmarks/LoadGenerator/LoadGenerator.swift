// SPDX-License-Identifier: Apache-2.0
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A closed-loop HTTP/1.1 load generator on NIO: `concurrency` keep-alive connections, each sending
/// the same request again as soon as the previous answer has ended, for a fixed time. It records what
/// a client sees per request (status, time to first byte, time to first token event, total time,
/// events and bytes) and its own CPU time, so a report can show it was not the bottleneck.
public struct LoadGenerator: Sendable {
    private let group: any EventLoopGroup

    /// A generator whose connections run on `group`'s event loops.
    public init(group: any EventLoopGroup) {
        self.group = group
    }

    /// Runs `request` under `profile` and returns every recorded sample.
    public func run(_ request: LoadRequest, profile: LoadProfile) async -> LoadResult {
        let start = NIODeadline.now()
        let window = RunWindow(
            recordFrom: start + profile.warmup,
            stopStarting: start + profile.warmup + profile.duration,
            cutOff: start + profile.warmup + profile.duration + profile.grace,
            requestsPerUser: profile.requestsPerUser ?? .max
        )
        let head = request.head
        let body = ByteBuffer(bytes: request.body)
        let cpuBefore = Self.processCPUSeconds()
        let samples = await withTaskGroup(of: [RequestSample].self) { tasks in
            for _ in 0..<profile.concurrency {
                tasks.addTask { await self.virtualUser(request: request, head: head, body: body, window: window) }
            }
            var all: [RequestSample] = []
            for await part in tasks { all.append(contentsOf: part) }
            return all
        }
        let finished = NIODeadline.now()
        return LoadResult(
            samples: samples.sorted { $0.startOffsetNanos < $1.startOffsetNanos },
            concurrency: profile.concurrency,
            windowNanos: profile.duration.nanoseconds,
            elapsedNanos: (finished - window.recordFrom).nanoseconds,
            generatorCPUSeconds: Self.processCPUSeconds() - cpuBefore
        )
    }

    /// One virtual user: a connection at a time, reconnecting when the server closes one early,
    /// until the window stops new requests.
    private func virtualUser(request: LoadRequest, head: HTTPRequestHead, body: ByteBuffer, window: RunWindow) async -> [RequestSample] {
        var samples: [RequestSample] = []
        let budget = RequestBudget(0)
        while NIODeadline.now() < window.stopStarting, budget.withLockedValue({ $0 }) < window.requestsPerUser {
            let loop = group.next()
            let done = loop.makePromise(of: [RequestSample].self)
            let bootstrap = ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            VirtualUserHandler(request: request, head: head, body: body, window: window, budget: budget, done: done)
                        )
                    }
                }
            let attempt = NIODeadline.now()
            do {
                _ = try await bootstrap.connect(host: request.host, port: request.port).get()
                samples.append(contentsOf: try await done.futureResult.get())
            } catch {
                done.fail(error)
                budget.withLockedValue { $0 += 1 }
                if attempt >= window.recordFrom {
                    samples.append(RequestSample(
                        startOffsetNanos: (attempt - window.recordFrom).nanoseconds, status: 0,
                        firstByteNanos: nil, firstTokenNanos: nil, totalNanos: (NIODeadline.now() - attempt).nanoseconds,
                        events: 0, tokenEvents: 0, bodyBytes: 0, completed: false
                    ))
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        return samples
    }

    /// User plus system CPU time of this process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
