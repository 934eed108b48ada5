// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The `GET /v1/models` body, as vLLM's `ModelList` / `ModelCard` / `ModelPermission`.
enum ModelList {
    static func body(models: [String], created: Int, maxModelLen: Int) -> [UInt8] {
        let cards: [JSONValue] = models.map { name in
            [
                "id": .string(name),
                "object": "model",
                "created": .int(created),
                "owned_by": "vllm",
                "root": .string(name),
                "parent": nil,
                "max_model_len": .int(maxModelLen),
                "permission": [[
                    "id": .string("modelperm-" + Identifiers.randomHex(32)),
                    "object": "model_permission",
                    "created": .int(created),
                    "allow_create_engine": false,
                    "allow_sampling": true,
                    "allow_logprobs": true,
                    "allow_search_indices": false,
                    "allow_view": true,
                    "allow_fine_tuning": false,
                    "organization": "*",
                    "group": nil,
                    "is_blocking": false,
                ]],
            ]
        }
        return JSONValue.object(["object": "list", "data": .array(cards)]).jsonBytes
    }
}
