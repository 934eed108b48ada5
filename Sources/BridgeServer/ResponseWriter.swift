// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import NIOCore
import NIOHTTP1

/// Writes one HTTP response on the connection's event loop, and remembers how it went for the log.
final class ResponseWriter {
    private let context: ChannelHandlerContext
    private let keepAlive: Bool
    let requestID: String
    private(set) var status: Int?
    private(set) var ended = false
    /// Called once when the response is over — ended, or abandoned because the connection went —
    /// with its status (499 when none was sent).
    private var onFinish: ((Int) -> Void)?

    init(context: ChannelHandlerContext, keepAlive: Bool, requestID: String, onFinish: @escaping (Int) -> Void) {
        self.context = context
        self.keepAlive = keepAlive
        self.requestID = requestID
        self.onFinish = onFinish
    }

    var hasStarted: Bool { status != nil }

    /// Starts a response whose body follows in parts.
    func head(status: Int, headers extra: [(String, String)]) {
        guard self.status == nil else { return }
        self.status = status
        var headers = HTTPHeaders(extra)
        headers.replaceOrAdd(name: "request-id", value: requestID)
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        // 529 has no standard reason phrase; Anthropic's servers send it as "Overloaded".
        let responseStatus = status == 529 ? HTTPResponseStatus(statusCode: 529, reasonPhrase: "Overloaded") : HTTPResponseStatus(statusCode: status)
        let head = HTTPResponseHead(version: .http1_1, status: responseStatus, headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
    }

    func body(_ bytes: [UInt8]) {
        guard !ended, !bytes.isEmpty else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
    }

    func flush() {
        context.flush()
    }

    /// Ends the response; closes the connection when keep-alive is off.
    func end() {
        guard !ended else { return }
        ended = true
        let close = !keepAlive
        let channel = context.channel
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
            if close { channel.close(promise: nil) }
        }
        finish()
    }

    /// The connection closed before the response ended: account for it all the same.
    func abandon() {
        guard !ended else { return }
        ended = true
        finish()
    }

    private func finish() {
        onFinish?(status ?? 499)
        onFinish = nil
    }

    /// A whole response with a body.
    func respond(status: Int, contentType: String?, body: [UInt8], extraHeaders: [(String, String)] = []) {
        var headers = extraHeaders
        if let contentType { headers.append(("content-type", contentType)) }
        headers.append(("content-length", String(body.count)))
        head(status: status, headers: headers)
        self.body(body)
        end()
    }

    func respondJSON(status: Int = 200, _ json: JSONValue, extraHeaders: [(String, String)] = []) {
        respond(status: status, contentType: "application/json", body: json.jsonBytes, extraHeaders: extraHeaders)
    }

    /// An Anthropic-shaped error with its status.
    func respond(error: AnthropicError, extraHeaders: [(String, String)] = []) {
        respondJSON(status: error.httpStatus, error.body(requestID: requestID), extraHeaders: extraHeaders)
    }
}
