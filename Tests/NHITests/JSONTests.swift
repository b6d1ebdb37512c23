import Testing

@testable import NHIBasics
@testable import NHIFormats
@testable import NHIStore
@testable import NHIModel
@testable import NHIRules
@testable import NHIAudit
@testable import NHIInventory
@testable import NHIReports
@testable import NHIScan
@testable import NHIOutput
@testable import NHICLI

/// Returns the parse error, or nil if parsing succeeded.
private func parseError(_ text: String, _ options: JSONParser.Options = .strict) -> JSONParseError? {
  do {
    _ = try JSONParser.parse(text, options: options)
    return nil
  } catch {
    return error
  }
}

private func parseError(bytes: [UInt8]) -> JSONParseError? {
  do {
    _ = try bytes.withUnsafeBufferPointer { buf throws(JSONParseError) in try JSONParser.parse(bytes: buf) }
    return nil
  } catch {
    return error
  }
}

@Suite struct JSONSerializationTests {
  @Test func compactFormHasNoSpaces() {
    let value: JSON = ["a": 1, "b": [true, nil]]
    #expect(value.serialized() == #"{"a":1,"b":[true,null]}"#)
  }

  @Test func prettyFormUsesTwoSpaceIndent() {
    let value: JSON = ["a": 1, "b": [true, nil], "c": [:], "d": []]
    let expected = """
      {
        "a": 1,
        "b": [
          true,
          null
        ],
        "c": {},
        "d": []
      }
      """
    #expect(value.serialized(pretty: true) == expected)
  }

  @Test func sortedKeysUsesCodePointOrder() {
    let value: JSON = ["b": 1, "a": ["z": 1, "Z": 2], "é": 3, "B": 4]
    #expect(value.serialized(sortedKeys: true) == #"{"B":4,"a":{"Z":2,"z":1},"b":1,"é":3}"#)
    #expect(value.serialized() == #"{"b":1,"a":{"z":1,"Z":2},"é":3,"B":4}"#)
  }

  @Test func everyEscape() {
    let value = JSON.string("q\" b\\ n\n r\r t\t b\u{08} f\u{0C} c\u{01}\u{1F}\u{00} ls\u{2028} ps\u{2029} / é 😀 <>&")
    #expect(
      value.serialized()
        == #""q\" b\\ n\n r\r t\t b\b f\f c\u0001\u001f\u0000 ls\u2028 ps\u2029 / é 😀 <>&""#)
    #expect(JSON.string("</script>&").serialized(escapeHTML: true) == #""\u003c/script\u003e\u0026""#)
  }

  @Test func doubles() throws {
    #expect(JSON.double(1.5).serialized() == "1.5")
    #expect(JSON.double(0.00001).serialized() == "1e-05")
    #expect(JSON.double(2).serialized() == "2.0")
    #expect(JSON.double(1e20).serialized() == "1e+20")
    #expect(JSON.array([.double(.infinity), .double(-.infinity), .double(.nan)]).serialized() == "[null,null,null]")
    // Every form printed must parse back to the same Double.
    for d in [1.5, 0.00001, 2.0, 1e20, -0.1, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude] {
      #expect(try JSONParser.parse(JSON.double(d).serialized()) == .double(d))
    }
  }

  @Test func roundTripPreservesStructureAndOrder() throws {
    let value: JSON = [
      "z": "last-first", "name": "nhi \"tool\"", "n": -42, "big": 9_223_372_036_854_775_807, "pi": 3.25,
      "nested": ["list": [1, "two", 3.5, false, nil, [:], []], "emoji": "😀\u{2028}"], "ctl": "\u{7}\u{0}",
    ]
    for pretty in [false, true] {
      let text = value.serialized(pretty: pretty)
      #expect(try JSONParser.parse(text) == value)
    }
  }
}

@Suite struct JSONParserTests {
  @Test func scalarsAndNumbers() throws {
    #expect(try JSONParser.parse("true") == .bool(true))
    #expect(try JSONParser.parse(" null ") == .null)
    #expect(try JSONParser.parse("0") == .int(0))
    #expect(try JSONParser.parse("-0") == .int(0))
    #expect(try JSONParser.parse("123") == .int(123))
    #expect(try JSONParser.parse("9223372036854775807") == .int(.max))
    #expect(try JSONParser.parse("-9223372036854775808") == .int(.min))
    #expect(try JSONParser.parse("9223372036854775808") == .double(9.223372036854775808e18))
    #expect(try JSONParser.parse("-9223372036854775809") == .double(-9.223372036854775809e18))
    #expect(try JSONParser.parse("1.5") == .double(1.5))
    #expect(try JSONParser.parse("1e3") == .double(1000))
    #expect(try JSONParser.parse("-1.25E-2") == .double(-0.0125))
    #expect(try JSONParser.parse("1e3").intValue == 1000)
  }

  @Test(arguments: ["01", "1.", "-", "+1", ".5", "1e", "1e+", "--1", "0x10", "1e400", "-1e400", "NaN", "Infinity"])
  func invalidNumbers(_ text: String) {
    #expect(parseError(text) != nil)
  }

  @Test func numberErrorMessages() {
    #expect(parseError("01")?.message == "invalid number: leading zeros are not allowed")
    #expect(parseError("[1.]")?.message == "invalid number: expected a digit after '.'")
    #expect(parseError("1e400")?.message == "number out of range")
  }

  @Test func everyEscapeDecodes() throws {
    let text = #""\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u00E9 \u20AC \u0000""#
    #expect(try JSONParser.parse(text) == .string("\" \\ / \u{08} \u{0C} \n \r \t A é é € \u{0}"))
    // Escapes mixed with raw multi-byte UTF-8 take the slow path; raw UTF-8 alone the fast path.
    #expect(try JSONParser.parse(#""é\n😀""#) == .string("é\n😀"))
    #expect(try JSONParser.parse(#""é😀 plain""#) == .string("é😀 plain"))
  }

  @Test func surrogatePairs() throws {
    #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    #expect(try JSONParser.parse(#""a\uD834\uDD1Eb""#) == .string("a𝄞b"))
    // `"x\ud83d"`: the escape starts at column 3.
    let lone = parseError(#""x\ud83d""#)
    #expect(lone?.column == 3)
    #expect(lone?.message.contains("lone surrogate") == true)
    #expect(parseError(#""\ude00""#)?.message.contains("lone surrogate") == true)
    #expect(parseError(#""\ud83d\u0041""#)?.message.contains("lone surrogate") == true)
    #expect(parseError(#""\ud83dx""#)?.message.contains("lone surrogate") == true)
  }

  @Test func badEscapes() {
    #expect(parseError(#""\x""#)?.message == #"invalid escape sequence '\x' in string"#)
    #expect(parseError(#""\u12G4""#)?.message == #"invalid \u escape: expected 4 hex digits"#)
    #expect(parseError(#""\u12""#) != nil)
  }

  @Test func invalidUTF8IsRejected() {
    // `"` C3 28 `"`: C3 needs a continuation byte.
    let bad = parseError(bytes: [0x22, 0xC3, 0x28, 0x22])
    #expect(bad?.message == "invalid UTF-8 byte sequence")
    #expect(bad?.column == 2)
    #expect(parseError(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22]) != nil)  // encoded surrogate
    #expect(parseError(bytes: [0x22, 0xC0, 0xAF, 0x22]) != nil)  // overlong '/'
    #expect(parseError(bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]) != nil)  // > U+10FFFF
    #expect(parseError(bytes: [0x22, 0xE2, 0x82, 0x22]) != nil)  // truncated
    #expect(parseError(bytes: []) != nil)
  }

  @Test func controlCharactersMustBeEscaped() {
    let e = parseError("[\"a\nb\"]")
    #expect(e?.message == "control character U+000A must be escaped in a string")
    #expect(e?.line == 1)
    #expect(e?.column == 4)
  }

  @Test func errorPositions() {
    // Line 2 is `  "b" 2}`: the 2 is column 7.
    let e1 = parseError("{\"a\": 1,\n  \"b\" 2}")
    #expect(e1 == JSONParseError(line: 2, column: 7, message: "expected ':' after object key, found '2'"))
    #expect(e1?.description == "line 2, column 7: expected ':' after object key, found '2'")

    // Line 2 is `, 3 4]`: the 4 is column 5.
    let e2 = parseError("[1, 2\n, 3 4]")
    #expect(e2?.line == 2)
    #expect(e2?.column == 5)
    #expect(e2?.message.hasPrefix("expected ',' or ']' after array element") == true)

    let e3 = parseError(#"{"a":1 "b":2}"#)
    #expect(e3?.line == 1)
    #expect(e3?.column == 8)
    #expect(e3?.message.hasPrefix("expected ',' or '}' after object member") == true)

    // Unterminated strings point at the opening quote.
    let e4 = parseError("{\"key\": \"abc")
    #expect(e4 == JSONParseError(line: 1, column: 9, message: "unterminated string"))

    // Columns count scalars: é is one column although it is two bytes.
    #expect(parseError(#"["é", x]"#)?.column == 7)

    let e5 = parseError("{} x")
    #expect(e5 == JSONParseError(line: 1, column: 4, message: "unexpected 'x' after the JSON value"))

    let e6 = parseError("[1,\n")
    #expect(e6?.line == 2)
    #expect(e6?.column == 1)
    #expect(e6?.message == "unexpected end of input, expected a JSON value")

    #expect(parseError("")?.message == "unexpected end of input, expected a JSON value")
    #expect(parseError("   ") != nil)
    #expect(parseError("tru")?.message == "invalid literal, expected 'true'")
    #expect(parseError("nul1") != nil)
    #expect(parseError("{1:2}")?.message == "expected '\"' to begin an object key, found '1'")
    #expect(parseError("[1 2]") != nil)
  }

  @Test func bomIsSkippedAndNotCountedAsAColumn() throws {
    #expect(try JSONParser.parse("\u{FEFF}{\"a\":[]}") == ["a": []])
    #expect(parseError("\u{FEFF}x")?.column == 1)
  }

  @Test func commentsAndTrailingCommasOnlyWithJSONC() throws {
    let text = """
      // settings
      {
        /* block
           comment */ "a": [1, 2,], // trailing
        "b": {"c": true,},
      }
      """
    let expected: JSON = ["a": [1, 2], "b": ["c": true]]
    #expect(try JSONParser.parse(text, options: .jsonc) == expected)

    let strict = parseError(text)
    #expect(strict?.line == 1)
    #expect(strict?.message == "comments are not allowed in strict JSON")
    #expect(parseError("[1,]") != nil)
    #expect(parseError(#"{"a":1,}"#) != nil)

    // Each extension is independent.
    let commentsOnly = JSONParser.Options(allowComments: true)
    #expect(try JSONParser.parse("[1 /* x */]", options: commentsOnly) == [1])
    #expect(parseError("[1,]", commentsOnly) != nil)
    let commasOnly = JSONParser.Options(allowTrailingCommas: true)
    #expect(try JSONParser.parse("[1,]", options: commasOnly) == [1])
    #expect(parseError("[1] // x", commasOnly) != nil)

    // Trailing commas never allow empty slots.
    #expect(parseError("[,]", .jsonc) != nil)
    #expect(parseError("[1,,]", .jsonc) != nil)
    #expect(parseError("{,}", .jsonc) != nil)

    let unterminated = parseError("[1]\n  /* never closed", .jsonc)
    #expect(unterminated == JSONParseError(line: 2, column: 3, message: "unterminated '/*' comment"))
  }

  @Test func depthBombFailsCleanly() {
    let bomb = String(repeating: "[", count: 100_000)
    let e = parseError(bomb)
    #expect(e?.message == "nesting depth exceeds the maximum of 256")
    #expect(e?.column == 257)

    let objects = String(repeating: #"{"a":"#, count: 100_000)
    #expect(parseError(objects)?.message.contains("nesting depth") == true)

    // Exactly at the limit is fine; one more is not.
    let atLimit = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
    #expect(parseError(atLimit) == nil)
    let over = String(repeating: "[", count: 257) + String(repeating: "]", count: 257)
    #expect(parseError(over) != nil)
    #expect(parseError("[[[]]]", JSONParser.Options(maxDepth: 2)) != nil)
  }

  @Test func duplicateKeysAreRefusedExceptInJSONC() throws {
    // Strict JSON (imports, policies): a key twice is an error naming it, at the second key.
    let error = parseError(#"{"a":1,"b":2,"a":3}"#)
    #expect(error?.message == "duplicate key 'a'")
    #expect(error?.column == 14)
    // Client configuration files (scan): the last wins, as their clients read them.
    let value = try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#, options: .jsonc)
    #expect(value.objectValue?.keys == ["a", "b"])
    #expect(value["a"] == 3)
  }

  @Test func locationsForNestedDocument() throws {
    let text = """
      {
        "mcpServers": {
          "github": {
            "args": ["-y",
              "server"],
            "env": {"TOKEN": "x", "a/b~c": 1}
          }
        },
        "list": [
          {"k":
            null}
        ]
      }
      """
    let (value, lines) = try JSONParser.parseWithLocations(text)
    #expect(value["mcpServers"]?["github"]?["env"]?["TOKEN"] == "x")
    let expected: [String: Int] = [
      "": 1,
      "/mcpServers": 2,
      "/mcpServers/github": 3,
      "/mcpServers/github/args": 4,
      "/mcpServers/github/args/0": 4,
      "/mcpServers/github/args/1": 5,
      "/mcpServers/github/env": 6,
      "/mcpServers/github/env/TOKEN": 6,
      "/mcpServers/github/env/a~1b~0c": 6,
      "/list": 9,
      "/list/0": 10,
      "/list/0/k": 11,
    ]
    #expect(lines == expected)
  }

  @Test func locationsWorkWithJSONCAndReportErrors() throws {
    let (_, lines) = try JSONParser.parseWithLocations("// c\n{\n /* x\n */ \"a\": 1,\n}", options: .jsonc)
    #expect(lines == ["": 2, "/a": 4])
    #expect(throws: JSONParseError.self) { try JSONParser.parseWithLocations("{\"a\" 1}") }
  }

  @Test func parseFromBytesMatchesString() throws {
    let text = #"{"id":7,"name":"x","tags":["a"]}"#
    let bytes = Array(text.utf8)
    let fromBytes = try bytes.withUnsafeBufferPointer { buf throws(JSONParseError) in try JSONParser.parse(bytes: buf) }
    #expect(fromBytes == (try JSONParser.parse(text)))
    #expect(fromBytes["tags"]?[0] == "a")
  }
}

@Suite struct JSONObjectTests {
  @Test func orderedSubscriptAndRemoval() {
    var object: JSONObject = ["b": 1, "a": 2]
    object["c"] = "x"
    object["b"] = 10  // replacement keeps position
    #expect(object.keys == ["b", "a", "c"])
    #expect(object.count == 3)
    object["a"] = nil
    #expect(object.keys == ["b", "c"])
    #expect(object["a"] == nil)
    object["n"] = .null  // storing JSON null is not removal
    #expect(object["n"] == .null)
    #expect(object.map { $0.key } == ["b", "c", "n"])
    #expect(JSONObject([("x", 1), ("y", 2), ("x", 3)]) == ["x": 3, "y": 2])
    #expect((["a": 1, "b": 2] as JSONObject) != ["b": 2, "a": 1])  // order-sensitive
  }

  @Test func largeObjectsStayConsistent() {
    var object = JSONObject()
    for i in 0..<40 { object["k\(i)"] = .int(Int64(i)) }
    object["k5"] = nil
    object["k39"] = "last"
    object["k3"] = 300
    #expect(object.count == 39)
    #expect(object["k6"] == 6)
    #expect(object["k5"] == nil)
    #expect(object["k39"] == "last")
    #expect(object.keys[3] == "k3")
    #expect(object.keys[5] == "k6")
    for i in 0..<20 where i != 3 { object["k\(i)"] = nil }
    #expect(object.count == 21)  // 39 minus k0…k19 except k3 (kept) and k5 (gone already)
    #expect(object["k3"] == 300)
    #expect(object["k25"] == 25)
  }

  @Test func convenienceAccessors() {
    let value: JSON = ["s": "str", "i": 5, "d": 2.5, "b": false, "a": [1], "o": ["x": nil]]
    #expect(value["s"]?.stringValue == "str")
    #expect(value["i"]?.intValue == 5)
    #expect(value["d"]?.intValue == nil)
    #expect(value["d"]?.doubleValue == 2.5)
    #expect(value["b"]?.boolValue == false)
    #expect(value["a"]?.arrayValue == [1])
    #expect(value["a"]?[1] == nil)
    #expect(value["o"]?.objectValue?.keys == ["x"])
    #expect(value["o"]?["x"]?.isNull == true)
    #expect(value["missing"] == nil)
    #expect(value["s"]?.intValue == nil)
    #expect(JSON.string("x")["k"] == nil)
  }
}
