// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// One unit read from a control connection.
enum ControlLine: Sendable, Equatable {
    /// A complete line, newline (and a trailing carriage return) removed.
    case line(ByteBuffer)
    /// A line longer than the limit; its bytes were dropped up to and including its newline.
    case tooLong
}

/// Splits a control connection into lines of at most `maxLength` bytes.
///
/// NIO's `LineBasedFrameDecoder` buffers a line of any length; this one reports an oversized line
/// once, discards it as it arrives (memory stays bounded by `maxLength`), and resumes after its newline.
struct ControlLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ControlLine

    let maxLength: Int
    /// True while the rest of an oversized line is being dropped.
    private var discarding = false

    init(maxLength: Int) {
        self.maxLength = maxLength
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if discarding {
                buffer.moveReaderIndex(to: buffer.writerIndex)
            } else if buffer.readableBytes > maxLength {
                buffer.moveReaderIndex(to: buffer.writerIndex)
                discarding = true
                context.fireChannelRead(wrapInboundOut(.tooLong))
            }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        if discarding {
            buffer.moveReaderIndex(forwardBy: length + 1)
            discarding = false
            return .continue
        }
        guard length <= maxLength else {
            buffer.moveReaderIndex(forwardBy: length + 1)
            context.fireChannelRead(wrapInboundOut(.tooLong))
            return .continue
        }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        context.fireChannelRead(wrapInboundOut(.line(line)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A last request without its newline still gets an answer.
        if !discarding, buffer.readableBytes > 0, let rest = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(wrapInboundOut(.line(rest)))
        }
        return .needMoreData
    }
}
