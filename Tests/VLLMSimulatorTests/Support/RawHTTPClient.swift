// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Foundation
import NIOCore
import NIOPosix

/// A parsed HTTP/1.1 response, as read off the socket.
struct RawResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    /// The body, de-chunked.
    var body: [UInt8]
    /// Whether the body ended properly (content-length reached or the chunked terminator seen).
    var complete: Bool

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func json() throws -> JSONValue { try JSONParser.parse(body) }

    /// The `data:` payloads of an SSE body, in order.
    var events: [String] { SSE.events(text) }
}

/// A minimal HTTP/1.1 client over a real TCP socket (NIO), so tests see exactly the bytes the server
/// sends, and can hang up mid-response.
enum RawHTTPClient {
    /// Sends `request` and collects bytes until the server closes the connection or `until` says
    /// enough (then the client closes the connection itself).
    static func exchange(port: Int, request: [UInt8], until: (([UInt8]) -> Bool)? = nil) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: request))
            var received: [UInt8] = []
            do {
                for try await chunk in inbound {
                    received.append(contentsOf: chunk.readableBytesView)
                    if let until, until(received) { break }
                }
            } catch {
                // A reset after the server dropped the connection: keep what arrived.
            }
            return received
        }
    }

    /// One request on its own connection (`connection: close`), parsed.
    static func send(
        port: Int,
        method: String = "GET",
        path: String,
        body: [UInt8]? = nil,
        headers: [(String, String)] = []
    ) async throws -> RawResponse {
        var request = "\(method) \(path) HTTP/1.1\r\nhost: 127.0.0.1:\(port)\r\nconnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if let body { request += "content-type: application/json\r\ncontent-length: \(body.count)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8) + (body ?? [])
        return try parse(await exchange(port: port, request: bytes))
    }

    static func post(port: Int, path: String, json: JSONValue) async throws -> RawResponse {
        try await send(port: port, method: "POST", path: path, body: json.jsonBytes)
    }

    /// Parses one response (the first, when several were pipelined).
    static func parse(_ bytes: [UInt8]) throws -> RawResponse {
        let separator = Array("\r\n\r\n".utf8)
        guard let headEnd = find(separator, in: bytes, from: 0) else { throw ClientError.malformed("no header end") }
        let headLines = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = headLines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw ClientError.malformed(headLines[0]) }
        var headers: [(name: String, value: String)] = []
        for line in headLines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let rest = Array(bytes[(headEnd + 4)...])
        var response = RawResponse(status: status, headers: headers, body: [], complete: false)
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            var index = 0
            while let lineEnd = find(Array("\r\n".utf8), in: rest, from: index) {
                guard let size = Int(String(decoding: rest[index..<lineEnd], as: UTF8.self), radix: 16) else { break }
                if size == 0 {
                    response.complete = true
                    break
                }
                let start = lineEnd + 2
                guard start + size <= rest.count else {
                    response.body.append(contentsOf: rest[start...])
                    break
                }
                response.body.append(contentsOf: rest[start..<start + size])
                index = start + size + 2
            }
        } else {
            let length = Int(response.header("content-length") ?? "") ?? rest.count
            response.body = Array(rest.prefix(length))
            response.complete = rest.count >= length
        }
        return response
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if haystack[index..<index + needle.count].elementsEqual(needle) { return index }
        }
        return nil
    }

    enum ClientError: Error { case malformed(String) }
}

