// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// The first handler of a client connection's pipeline, on raw bytes: tells the connection handler
/// when bytes arrive (the HTTP decoder only speaks once a whole head is in, which a client trickling
/// bytes never completes), and closes the connection once everything written before is sent.
final class ConnectionEdge: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let onBytes: () -> Void
    private var context: ChannelHandlerContext?

    /// `onBytes` runs on the connection's event loop before the bytes go on to the HTTP decoder.
    init(onBytes: @escaping () -> Void) {
        self.onBytes = onBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onBytes()
        context.fireChannelRead(data)
    }

    /// Closes the connection after the writes already queued (an answer that says `connection: close`,
    /// NIO's own 400) have gone out: an empty write at the bottom of the pipeline completes after them.
    func closeWhenWritten() {
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
