import Testing

@testable import Common

struct JSONTests {
    @Test(arguments: [
        "{}", "[]", "null", "true", "false", "0", "-0.5e-3", "12345678901234567890123",
        "\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\"", "{\"a\":[1,{\"b\":null}],\"c\":\"\"}", "  [ 1 , 2 ]  ",
    ])
    func validDocumentsParseAndRoundTrip(text: String) throws {
        let value = try JSONParser.parse(Array(text.utf8))
        let again = try JSONParser.parse(value.serialized())
        #expect(again == value)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "\"\\x\"", "\"unterminated", "nul", "[1 2]",
        "{\"a\" 1}", "{1:2}", "\"\u{01}\"", "\"\\ud800\"", "\"\\udc00x\"", "[] []", "1e", "\"\\u12\"",
    ])
    func invalidDocumentsAreRefused(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    /// `parseMembers` skips what it does not keep, yet accepts and refuses exactly what `parse`
    /// does: each document is wrapped as the value of a skipped member and of a kept one.
    @Test(arguments: [
        "{}", "[]", "null", "true", "false", "0", "-0.5e-3", "12345678901234567890123",
        "\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\"", "{\"a\":[1,{\"b\":null}],\"c\":\"\"}", "  [ 1 , 2 ]  ",
        "\"caf\u{E9} \u{1F600}\"", "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "\"\\x\"",
        "\"unterminated", "nul", "[1 2]", "{\"a\" 1}", "{1:2}", "\"\u{01}\"", "\"\\ud800\"", "\"\\udc00x\"", "[] []",
        "1e", "\"\\u12\"", "\"\\ud800\\u0041\"", "[[[[]]]", "{\"k\":[{\"x\":\"\\ud83d\\ude00\"}]}",
    ])
    func membersAreSkippedAsStrictlyAsTheyAreParsed(document: String) throws {
        for key in ["skipped", "kept"] {
            let text = Array("{\"model\":\"m\",\"\(key)\":\(document),\"usage\":{\"n\":1}}".utf8)
            let full = try? JSONParser.parse(text)
            let members = try? JSONParser.parseMembers(text, keep: ["model", "usage", "kept"], kindsOf: ["skipped", "kept"])
            #expect((full == nil) == (members == nil), "\(key): \(document)")
            guard let full, let members else { continue }
            #expect(members.kept["model"] == full["model"])
            #expect(members.kept["usage"] == full["usage"])
            #expect(members.kept["kept"] == full["kept"])
            #expect(members.kept["skipped"] == nil)
            #expect(members.kinds[key] == document.utf8.first { $0 != 0x20 })
        }
    }

    @Test func invalidUTF8IsSkippedNoMoreThanParsed() {
        let text: [UInt8] = Array("{\"skipped\":".utf8) + [0x22, 0xC3, 0x28, 0x22] + [0x7D]
        #expect(throws: JSONParseError.self) { try JSONParser.parseMembers(text, keep: []) }
        let deep = "{\"skipped\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        #expect(throws: JSONParseError.self) { try JSONParser.parseMembers(Array(deep.utf8), keep: []) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        _ = try JSONParser.parse(Array(fine.utf8))
    }

    @Test func numbersKeepTheirLiteralText() throws {
        let value = try JSONParser.parse(Array("{\"t\":0.70,\"big\":12345678901234567890}".utf8))
        #expect(value.jsonText == "{\"t\":0.70,\"big\":12345678901234567890}")
        #expect(value["t"]?.doubleValue == 0.7)
        #expect(value["big"]?.intValue == nil)
    }

    @Test func objectsKeepOrderAndLastDuplicateWins() throws {
        var object = try #require(try JSONParser.parse(Array("{\"b\":1,\"a\":2,\"b\":3}".utf8)).objectValue)
        #expect(object.keys == ["b", "a"])
        #expect(object["b"] == 3)
        object["c"] = "x"
        object["a"] = nil
        #expect(JSONValue.object(object).jsonText == "{\"b\":3,\"c\":\"x\"}")
    }

    @Test func stringsAreEscapedForOutput() {
        let value: JSONValue = ["k": "quote\" back\\ nl\n tab\t ctl\u{01} é"]
        #expect(value.jsonText == "{\"k\":\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 é\"}")
    }

    @Test func aRepeatedKeyReplacesTheEarlierValueInPlace() throws {
        let small = try JSONParser.parse(Array(#"{"a":1,"b":2,"a":3}"#.utf8))
        #expect(small.objectValue?.keys == ["a", "b"])
        #expect(small["a"]?.intValue == 3)
        // Past the members found by scanning, the index by name must give the same answer.
        let members = (0..<20).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let large = try JSONParser.parse(Array("{\(members),\"k3\":99,\"k19\":-1,\"new\":0}".utf8))
        #expect(large.objectValue?.count == 21)
        #expect(large.objectValue?.keys.first == "k0")
        #expect(large["k3"]?.intValue == 99)
        #expect(large["k19"]?.intValue == -1)
        #expect(large.objectValue?.keys.last == "new")
    }

    /// Finding a repeated key by scanning every earlier member made an object of n members cost
    /// n²/2 string comparisons: a 900 KB request body held a worker's loop for seconds. With
    /// 300,000 members that would be minutes; the time limit turns such a regression into a
    /// failure instead of a hung run.
    @Test(.timeLimit(.minutes(1))) func anObjectWithManyMembersParsesInLinearTime() throws {
        var text = "{"
        for index in 0..<300_000 { text += index == 0 ? "\"m\(index)\":1" : ",\"m\(index)\":1" }
        text += ",\"m0\":2}"
        let value = try JSONParser.parse(Array(text.utf8))
        #expect(value.objectValue?.count == 300_000)
        #expect(value["m0"]?.intValue == 2)
    }

    /// Long member names the providers send on every request come from a table instead of a new
    /// allocation; the names must read the same whichever way they were found.
    @Test func knownLongKeysReadAsTheirText() throws {
        let text = #"{"completion_tokens":1,"completion_tokens_x":2,"completion\u005ftokens_details":{"reasoning_tokens":3},"#
            + #""prompt_tokens_details":{"cached_tokens":4},"a_member_name_longer_than_any_known_one":5,"é_long_enough_key":6}"#
        let value = try JSONParser.parse(Array(text.utf8))
        #expect(value.objectValue?.keys == [
            "completion_tokens", "completion_tokens_x", "completion_tokens_details", "prompt_tokens_details",
            "a_member_name_longer_than_any_known_one", "é_long_enough_key",
        ])
        #expect(value["completion_tokens"]?.intValue == 1)
        #expect(value["completion_tokens_details"]?["reasoning_tokens"]?.intValue == 3)
        #expect(value["prompt_tokens_details"]?["cached_tokens"]?.intValue == 4)
        let members = try JSONParser.parseMembers(Array(text.utf8), keep: ["completion_tokens_details"]).kept
        #expect(members["completion_tokens_details"]?["reasoning_tokens"]?.intValue == 3)
        // Every entry is one a small string could not hold, and each is found by its own bytes.
        #expect(KnownKeys.spellings.allSatisfy { spelling in
            spelling.utf8CodeUnitCount > 15
                && KnownKeys.match(UnsafeBufferPointer(start: spelling.utf8Start, count: spelling.utf8CodeUnitCount))
                    == spelling.description
        })
    }
}
