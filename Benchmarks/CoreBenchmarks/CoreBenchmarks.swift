// SPDX-License-Identifier: Apache-2.0
import BenchWorkloads
import BridgeConfig
import BridgeCore
import BridgeJSON

/// The inputs, built once before anything is timed.
struct Inputs {
    let request: ClaudeCodeWorkload
    /// The shipped configuration's aliases (`claude-sonnet-*`, `claude-*haiku*`, `claude-opus-*`, default).
    let configuration: BridgeConfiguration
    /// The translation context of `request`, as the daemon keeps it for the response.
    let context: TranslationContext
    let textStream: VLLMStreamWorkload
    let toolStream: VLLMStreamWorkload
    let smallAnswer: VLLMStreamWorkload

    /// A request id as the daemon makes them (`req_` and 24 base-62 characters).
    static let requestID = "req_011CUQ4Nm8xQ2YvY6dJ8kVfA"

    /// The model entries of `etc/spark-bridge/config.yaml` and the settings the request path reads.
    static let configurationYAML = """
        model_list:
          - model_name: claude-sonnet-*
            litellm_params: { model: openai/Qwen/Qwen3-Coder-30B-A3B-Instruct, api_base: http://127.0.0.1:8000/v1, api_key: none }
          - model_name: claude-*haiku*
            litellm_params: { model: openai/Qwen/Qwen3-Coder-30B-A3B-Instruct, api_base: http://127.0.0.1:8000/v1, api_key: none }
          - model_name: claude-opus-*
            litellm_params: { model: openai/Qwen/Qwen3-Coder-30B-A3B-Instruct, api_base: http://127.0.0.1:8000/v1, api_key: none }
        spark_bridge:
          default_model: claude-sonnet-*
          retry_on_context_overflow: true
          rescue_qwen_xml: true
        """

    init() {
        request = ClaudeCodeWorkload()
        do {
            configuration = try ConfigLoader.load(yaml: Self.configurationYAML).configuration
        } catch {
            fatalError("core-bench: the benchmark configuration does not load: \(error)")
        }
        guard let translated = translateRequest(request.body, configuration: configuration) else {
            fatalError("core-bench: the Claude Code workload does not translate")
        }
        context = translated.context
        textStream = .text(tokens: 400)
        toolStream = .toolCall(textTokens: 40)
        smallAnswer = .text(tokens: 60)
    }
}

/// What the daemon's exchange does with a `/v1/messages` body, minus the network and the routing
/// between healthy backends: ``MessagesRequestTranslation`` (parse, validate, translate) with the
/// alias resolved from the configuration, then the body written.
/// Returns `nil` only when the request is refused (never, for the workload).
func translateRequest(_ body: [UInt8], configuration: BridgeConfiguration) -> (context: TranslationContext, body: [UInt8])? {
    let options = RequestTranslationOptions(
        rescuesQwenMarkup: configuration.settings.rescueQwenXML, fallbackMessageID: "msg_" + Inputs.requestID.dropFirst(4)
    )
    do throws(AnthropicError) {
        let translation = try MessagesRequestTranslation.translate(body: body, endpoint: .messages, options: options) { (model: String) throws(AnthropicError) in
            guard let resolved = configuration.aliases.resolve(model) else {
                throw AnthropicError(.notFound, configuration.aliases.unknownModelMessage(model))
            }
            // The daemon picks among the alias's healthy deployments (BridgeServer); the first stands in.
            return resolved.deployments[0].model
        }
        let translated = translation.translated
        // The daemon logs each warning; the workload has none.
        for warning in translated.warnings { blackHole(warning) }
        blackHole(translation.streams)
        return (translated.context, JSONValue.object(translated.body).jsonBytes)
    } catch {
        return nil
    }
}

/// `ExchangeStateMachine`'s streaming state, kept the way it keeps it: the decoder and the translator live
/// in an enum payload of a stored property, are taken out for each upstream read and put back.
final class StreamingExchange {
    private enum Phase {
        case streaming(SSEDecoder, StreamTranslator)
        case done
    }

    private var phase: Phase

    init(context: TranslationContext) {
        phase = .streaming(SSEDecoder(), StreamTranslator(context: context))
    }

    /// `ExchangeStateMachine.upstreamBody` for a 200 stream: the client bytes of one upstream read.
    func upstreamBody(_ bytes: [UInt8]) -> [UInt8] {
        guard case .streaming(var decoder, var translator) = phase else { return [] }
        var output: [UInt8] = []
        do {
            for payload in try decoder.feed(bytes) {
                write(translator.consume(UpstreamStreamItem(data: payload)), into: &output)
            }
        } catch {
            write(translator.abort(with: AnthropicError(.api, "The backend sent an oversized stream line")), into: &output)
        }
        phase = .streaming(decoder, translator)
        if translator.isFinished {
            blackHole(translator.finalUsage)
            phase = .done
        }
        return output
    }

    /// `ExchangeStateMachine.upstreamEnd(.success)`: nothing left once `[DONE]` finished the stream.
    func upstreamCompleted() -> [UInt8] {
        guard case .streaming(var decoder, var translator) = phase else { return [] }
        var output: [UInt8] = []
        if let last = decoder.finish() { write(translator.consume(UpstreamStreamItem(data: last)), into: &output) }
        write(translator.endOfStream(), into: &output)
        phase = .done
        return output
    }

    private func write(_ events: [AnthropicStreamEvent], into output: inout [UInt8]) {
        for event in events { event.writeSSE(into: &output) }
    }
}

/// The benchmarks and their baselines.
func comparisons(_ inputs: Inputs) -> [Comparison] {
    let body = inputs.request.body
    let configuration = inputs.configuration
    let context = inputs.context

    func roundTrip(_ name: String, _ bytes: [UInt8], unit: String) -> Benchmark {
        Benchmark(name: name, unit: unit, unitsPerRun: 1) {
            do {
                blackHole(try JSONParser.parse(bytes).jsonBytes)
            } catch {
                fatalError("core-bench: \(name): \(error)")
            }
        }
    }

    /// Every event as its own upstream read, as vLLM flushes them one token at a time.
    func stream(_ name: String, _ workload: VLLMStreamWorkload) -> Benchmark {
        let events = workload.events
        return Benchmark(name: name, unit: "chunk", unitsPerRun: events.count) {
            let exchange = StreamingExchange(context: context)
            for event in events { blackHole(exchange.upstreamBody(event)) }
            blackHole(exchange.upstreamCompleted())
        }
    }

    /// The floor of any stream translation: split the SSE and parse each chunk's JSON.
    func streamBaseline(_ name: String, _ workload: VLLMStreamWorkload) -> Benchmark {
        let events = workload.events
        return Benchmark(name: name, unit: "chunk", unitsPerRun: events.count) {
            var decoder = SSEDecoder()
            do {
                for event in events {
                    for payload in try decoder.feed(event) where !payload.elementsEqual("[DONE]".utf8) {
                        blackHole(try JSONParser.parse(payload))
                    }
                }
            } catch {
                fatalError("core-bench: \(name): \(error)")
            }
        }
    }

    let response = inputs.smallAnswer.responseBody
    let payloads = inputs.textStream.events.map { Array($0.dropFirst("data: ".utf8.count).dropLast(2)) }.filter { $0.first == UInt8(ascii: "{") }
    return [
        Comparison(
            benchmark: Benchmark(name: "translate-request/claude-code", unit: "request", unitsPerRun: 1) {
                blackHole(translateRequest(body, configuration: configuration))
            },
            baseline: roundTrip("json-roundtrip/claude-code", body, unit: "request")
        ),
        Comparison(
            // The SSE framing alone, against the JSON parse it feeds: both are the floor of a stream.
            benchmark: Benchmark(name: "sse-decode/text", unit: "chunk", unitsPerRun: inputs.textStream.events.count) {
                var decoder = SSEDecoder()
                do {
                    for event in inputs.textStream.events { blackHole(try decoder.feed(event)) }
                } catch {
                    fatalError("core-bench: sse-decode/text: \(error)")
                }
            },
            baseline: Benchmark(name: "json-parse/text", unit: "chunk", unitsPerRun: payloads.count) {
                do {
                    for payload in payloads { blackHole(try JSONParser.parse(payload)) }
                } catch {
                    fatalError("core-bench: json-parse/text: \(error)")
                }
            }
        ),
        Comparison(
            benchmark: stream("stream-chunk/text", inputs.textStream),
            baseline: streamBaseline("sse-parse/text", inputs.textStream)
        ),
        Comparison(
            benchmark: stream("stream-chunk/tool-call", inputs.toolStream),
            baseline: streamBaseline("sse-parse/tool-call", inputs.toolStream)
        ),
        Comparison(
            // ExchangeStateMachine.complete for a 200 `/v1/messages` answer.
            benchmark: Benchmark(name: "whole-response/text", unit: "response", unitsPerRun: 1) {
                do {
                    let message = try ResponseTranslator.translate(try JSONParser.parse(response), context: context)
                    blackHole(message.json.jsonBytes)
                } catch {
                    fatalError("core-bench: whole-response/text: \(error)")
                }
            },
            baseline: roundTrip("json-roundtrip/whole-response", response, unit: "response")
        ),
    ]
}
