// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import BridgeJSON
import NIOCore
import NIOHTTP1

/// Writes one HTTP response on the connection's event loop, and remembers how it went for the log.
/// Closing the connection after a `connection: close` answer is the connection handler's (it closes
/// once the answer is written and the request is read).
final class ResponseWriter {
    private let context: ChannelHandlerContext
    /// False: the answer says `connection: close`. Settable until the head is written.
    var keepAlive: Bool
    let requestID: String
    private(set) var status: Int?
    private(set) var ended = false
    /// Called once when the response is over — ended, or abandoned because the connection went —
    /// with its status (499 when none was sent). Called before the end is written: writing it can
    /// deliver the connection's next (pipelined) request.
    private var onFinish: ((Int) -> Void)?
    /// Called once the end of the response is written (not when abandoned), with whether it kept the
    /// connection alive.
    private var onEndWritten: ((Bool) -> Void)?

    init(context: ChannelHandlerContext, keepAlive: Bool, requestID: String, onFinish: @escaping (Int) -> Void, onEndWritten: @escaping (Bool) -> Void) {
        self.context = context
        self.keepAlive = keepAlive
        self.requestID = requestID
        self.onFinish = onFinish
        self.onEndWritten = onEndWritten
    }

    var hasStarted: Bool { status != nil }

    /// Starts a response whose body follows in parts.
    func head(status: Int, headers extra: [(String, String)]) {
        guard self.status == nil else { return }
        self.status = status
        var headers = HTTPHeaders(extra)
        // A relayed Anthropic API answer keeps the API's own request id (the one its support knows);
        // the request log notes it next to the bridge's.
        if !headers.contains(name: "request-id") { headers.add(name: "request-id", value: requestID) }
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

    /// `100 Continue`: the client may send the body it held back (`Expect: 100-continue`).
    func sendContinue() {
        guard status == nil else { return }
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
    }

    /// Ends the response.
    func end() {
        guard !ended else { return }
        ended = true
        finish()
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
        onEndWritten?(keepAlive)
        onEndWritten = nil
    }

    /// The connection closed before the response ended: account for it all the same.
    func abandon() {
        guard !ended else { return }
        ended = true
        onEndWritten = nil
        finish()
    }

    private func finish() {
        onFinish?(status ?? 499)
        onFinish = nil
    }

    /// A whole response with a body.
    func respond(status: Int, contentType: String?, body: [UInt8], extraHeaders: [(String, String)] = []) {
        var headers = extraHeaders
        headers.reserveCapacity(extraHeaders.count + 2)
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
