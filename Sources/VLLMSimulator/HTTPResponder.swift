// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOHTTP1

/// Writes whole responses with the headers uvicorn + Starlette send: `date`, `server: uvicorn`,
/// `content-length`, `content-type`.
enum HTTPResponder {
    /// A response head; no `content-length` means a chunked (streamed) body.
    static func head(
        version: HTTPVersion, status: HTTPResponseStatus, contentType: String?, contentLength: Int?, keepAlive: Bool
    ) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(5)
        headers.add(name: "date", value: HTTPDate.now())
        headers.add(name: "server", value: "uvicorn")
        if let contentLength { headers.add(name: "content-length", value: String(contentLength)) }
        if let contentType { headers.add(name: "content-type", value: contentType) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        // HTTP/1.0 clients get HTTP/1.0 (no chunking: a stream then ends by closing the connection).
        return HTTPResponseHead(version: version.minor == 0 ? .http1_0 : .http1_1, status: status, headers: headers)
    }

    /// Writes a complete response, logs its status and completion, and closes the connection unless it
    /// is kept alive. `contentType` `nil` sends no `content-type` (vLLM's empty `/health` response).
    static func respond(
        context: ChannelHandlerContext,
        state: SimulatorState,
        recordID: Int?,
        version: HTTPVersion,
        status: HTTPResponseStatus,
        contentType: String?,
        body: [UInt8],
        keepAlive: Bool
    ) {
        let head = head(version: version, status: status, contentType: contentType, contentLength: body.count, keepAlive: keepAlive)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let written = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if let recordID {
            let code = Int(status.code)
            state.update(recordID) { $0.status = code }
            written.whenSuccess { state.update(recordID) { $0.completed = true } }
        }
        if !keepAlive { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}
