import Common

/// Reduces a JSON Schema (what OpenAI clients send in `tools[].function.parameters` and
/// `response_format.json_schema.schema`) to the OpenAPI 3.0 subset Gemini's `Schema` accepts;
/// Gemini answers 400 to a keyword outside it.
///
/// Kept: `type` (upper-cased: STRING, NUMBER, INTEGER, BOOLEAN, ARRAY, OBJECT, NULL), `format`,
/// `title`, `description`, `nullable`, `enum` (strings only), `properties`, `required`, `items`,
/// `minItems`, `maxItems`, `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`,
/// `minProperties`, `maxProperties`, `anyOf`, `default`, `example`, `propertyOrdering`.
/// Rewritten: a type list (`["string","null"]`) becomes `type` + `nullable` (or `anyOf` for
/// several types); `oneOf` becomes `anyOf`; a `{"type":"null"}` branch of `anyOf` becomes
/// `nullable`, and an `anyOf` left with one branch is inlined; `allOf` is merged into its node;
/// local `$ref`s (`#/$defs/…`, `#/definitions/…`) are inlined (a recursive one is refused);
/// `const` (a string) becomes a one-value `enum`; `examples` gives its first value as `example`;
/// `required` keeps only names that are in `properties`; an empty `properties` is removed
/// (Gemini refuses it: "should be non-empty for OBJECT type"); a node with `properties` or
/// `items` but no `type` gets OBJECT or ARRAY (Gemini allows them only on those types).
/// Stripped: every other keyword, notably `$schema`, `$id`, `$defs`, `definitions`,
/// `additionalProperties`, `patternProperties`, `not`, `if`/`then`/`else`, `exclusiveMinimum`,
/// `exclusiveMaximum`, `multipleOf`, `uniqueItems`, `contains`, `prefixItems`, `strict`,
/// `readOnly`, `writeOnly`, `deprecated`, and an `enum` whose values are not all strings.
/// A node with `anyOf` keeps only `anyOf`, `nullable`, `title`, `description`, `default`, `example`.
struct GeminiSchemaReducer {
    /// The request field the schema came from, named in errors.
    let param: String
    /// Adds `propertyOrdering` (the properties' order) to objects, so Gemini's structured output
    /// keeps the schema's key order as OpenAI's does (Gemini orders keys alphabetically otherwise).
    let addsPropertyOrdering: Bool
    private var definitions = JSONObject()
    /// Bounds the work a schema can cause: `$ref` inlining can multiply nodes.
    private var budget = 20_000

    init(param: String, addsPropertyOrdering: Bool) {
        self.param = param
        self.addsPropertyOrdering = addsPropertyOrdering
    }

    private static let kept: Set<String> = [
        "type", "format", "title", "description", "nullable", "enum", "properties", "required", "items",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "minProperties",
        "maxProperties", "anyOf", "default", "example", "propertyOrdering",
    ]
    private static let types: Set<String> = ["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"]
    private static let keptBesideAnyOf: Set<String> = ["anyOf", "nullable", "title", "description", "default", "example"]

    /// The reduced schema; nil when nothing of it is left (`true`, `{}` after stripping).
    mutating func reduce(_ schema: JSONValue) throws(GatewayError) -> JSONObject? {
        guard case .object(let root) = schema else {
            if case .bool = schema { return nil }
            throw .invalidRequest("'\(param)' must be a JSON Schema object.", code: "invalid_type", param: param)
        }
        for key in ["$defs", "definitions"] {
            if case .object(let defs) = root[key] {
                for (name, value) in defs { definitions[name] = value }
            }
        }
        let reduced = try reduceNode(root, resolving: [])
        return reduced.isEmpty ? nil : reduced
    }

    private mutating func reduceNode(_ input: JSONObject, resolving: [String]) throws(GatewayError) -> JSONObject {
        budget -= 1
        guard budget > 0 else {
            throw .invalidRequest("'\(param)' is too large a schema for Gemini.", code: "invalid_value", param: param)
        }
        var node = try resolved(input, resolving: resolving)
        var refs = resolving
        if let ref = input["$ref"]?.stringValue { refs.append(ref) }

        // Forms Gemini does not have, rewritten into ones it has.
        if let oneOf = node["oneOf"], node["anyOf"] == nil { node["anyOf"] = oneOf }
        if let constant = node["const"]?.stringValue, node["enum"] == nil { node["enum"] = [.string(constant)] }
        if node["example"] == nil, let first = node["examples"]?.arrayValue?.first { node["example"] = first }

        var out = JSONObject()
        var nullable = node["nullable"]?.boolValue == true
        switch node["type"] {
        case .some(.string(let type)):
            if type == "null" && node["anyOf"] == nil {
                out["type"] = "NULL"
            } else if Self.types.contains(type.uppercased()) {
                out["type"] = .string(type.uppercased())
            }
        case .some(.array(let types)):
            let names = types.compactMap(\.stringValue)
            if names.contains("null") { nullable = true }
            let others = names.filter { $0 != "null" && Self.types.contains($0.uppercased()) }
            if others.count == 1 {
                out["type"] = .string(others[0].uppercased())
            } else if others.count > 1, node["anyOf"] == nil {
                node["anyOf"] = .array(others.map { .object(JSONObject([(key: "type", value: .string($0))])) })
            }
        default: break
        }

        if case .array(let branches) = node["anyOf"] {
            var reducedBranches: [JSONValue] = []
            for branch in branches {
                guard case .object(let object) = branch else { continue }
                if object["type"]?.stringValue == "null" && object.count == 1 {
                    nullable = true
                    continue
                }
                reducedBranches.append(.object(try reduceNode(object, resolving: refs)))
            }
            if reducedBranches.count == 1, case .object(let only) = reducedBranches[0] {
                // `anyOf: [X, null]`, pydantic's Optional[X]: X itself, nullable.
                var merged = only
                for key in ["title", "description", "default", "example"] where merged[key] == nil {
                    if let value = node[key] { merged[key] = value }
                }
                if nullable { merged["nullable"] = true }
                return merged
            }
            if !reducedBranches.isEmpty {
                out["type"] = nil
                out["anyOf"] = .array(reducedBranches)
            }
        }

        for (key, value) in node where out[key] == nil && Self.kept.contains(key) {
            switch key {
            case "type", "anyOf", "nullable": continue
            case "enum":
                guard case .array(let values) = value, !values.isEmpty, values.allSatisfy({ $0.stringValue != nil })
                else { continue }
                out["enum"] = value
                if out["type"] == nil && out["anyOf"] == nil { out["type"] = "STRING" }
            case "properties":
                guard case .object(let properties) = value else { continue }
                var reduced = JSONObject()
                for (name, property) in properties {
                    switch property {
                    case .object(let object): reduced[name] = .object(try reduceNode(object, resolving: refs))
                    case .bool(true): reduced[name] = .object(JSONObject())
                    default: continue
                    }
                }
                if !reduced.isEmpty { out["properties"] = .object(reduced) }
            case "items":
                switch value {
                case .object(let object): out["items"] = .object(try reduceNode(object, resolving: refs))
                case .array(let tuple):
                    // Draft-4 tuple items: Gemini arrays are homogeneous, so the union of them.
                    let branches = tuple.compactMap(\.objectValue)
                    if branches.count == 1 {
                        out["items"] = .object(try reduceNode(branches[0], resolving: refs))
                    } else if !branches.isEmpty {
                        out["items"] = .object(try reduceNode(JSONObject([(key: "anyOf", value: .array(tuple))]), resolving: refs))
                    }
                default: continue
                }
            case "required":
                guard case .array(let names) = value else { continue }
                let known = node["properties"]?.objectValue.map { Set($0.keys) } ?? []
                let kept = names.filter { $0.stringValue.map(known.contains) ?? false }
                if !kept.isEmpty { out["required"] = .array(kept) }
            case "propertyOrdering":
                if case .array = value { out[key] = value }
            default:
                out[key] = value
            }
        }
        if nullable { out["nullable"] = true }
        // Gemini allows `properties` only on OBJECT and `items` only on ARRAY.
        if out["type"] == nil && out["anyOf"] == nil {
            if out["properties"] != nil { out["type"] = "OBJECT" } else if out["items"] != nil { out["type"] = "ARRAY" }
        }
        if out["anyOf"] != nil {
            out = JSONObject(out.fields.filter { Self.keptBesideAnyOf.contains($0.key) })
        }
        if addsPropertyOrdering, out["propertyOrdering"] == nil, case .object(let properties) = out["properties"],
            properties.count > 1
        {
            out["propertyOrdering"] = .array(properties.keys.map { .string($0) })
        }
        return out
    }

    /// The node with its `$ref` inlined and its `allOf` merged in.
    private mutating func resolved(_ input: JSONObject, resolving: [String]) throws(GatewayError) -> JSONObject {
        var node = input
        if let ref = node["$ref"]?.stringValue {
            guard !resolving.contains(ref), resolving.count < 32 else {
                throw .invalidRequest(
                    "'\(param)' has a recursive $ref (\(ref.prefix(80))); Gemini schemas cannot express recursion.",
                    code: "invalid_value", param: param)
            }
            var target: JSONObject?
            for prefix in ["#/$defs/", "#/definitions/"] where ref.hasPrefix(prefix) {
                target = definitions[String(ref.dropFirst(prefix.count))]?.objectValue
            }
            guard let target else {
                throw .invalidRequest(
                    "'\(param)' has a $ref the gateway cannot resolve (\(ref.prefix(80))); only local #/$defs/ references are supported.",
                    code: "invalid_value", param: param)
            }
            node["$ref"] = nil
            var merged = try resolved(target, resolving: resolving + [ref])
            for (key, value) in node { merged[key] = value }  // the siblings of $ref win (description)
            node = merged
        }
        if case .array(let parts) = node["allOf"] {
            node["allOf"] = nil
            for part in parts {
                guard case .object(let object) = part else { continue }
                let piece = try resolved(object, resolving: resolving)
                for (key, value) in piece {
                    switch (key, node[key], value) {
                    case ("properties", .some(.object(var mine)), .object(let theirs)):
                        for (name, property) in theirs where mine[name] == nil { mine[name] = property }
                        node[key] = .object(mine)
                    case ("required", .some(.array(let mine)), .array(let theirs)):
                        node[key] = .array(mine + theirs.filter { !mine.contains($0) })
                    case (_, .none, _):
                        node[key] = value
                    default: break
                    }
                }
            }
        }
        return node
    }
}
