import Foundation
import Testing

@testable import NHIFormats

// The TOML reader against the toml-test suite (Tests/NHITests/Fixtures/toml-test, see its README for the version
// and what was taken), then against real-shaped Codex configs.
//
// Sources for the Codex shapes: OpenAI's Codex MCP documentation (https://developers.openai.com/codex/mcp/:
// `[mcp_servers.<name>]` with `command`, `args`, `env` inline or as `[mcp_servers.<name>.env]`, `env_vars`, `cwd`;
// HTTP servers with `url`, `bearer_token_env_var`, `http_headers`, `env_http_headers`; `startup_timeout_sec`,
// `tool_timeout_sec`, `enabled`, `enabled_tools`), and openai/codex docs/config.md (PR 6845:
// `env = { "API_KEY" = "value" }`).

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Fixtures/toml-test")

/// Every `.toml` under `Fixtures/toml-test/<kind>`, as paths relative to that folder, sorted.
private func cases(_ kind: String) -> [String] {
  let root = fixtures.appendingPathComponent(kind)
  let paths = (try? FileManager.default.subpathsOfDirectory(atPath: root.path)) ?? []
  return paths.filter { $0.hasSuffix(".toml") }.sorted()
}

private func bytes(_ url: URL) -> [UInt8] {
  guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
  return [UInt8](data)
}

private func tomlError(_ text: String) -> TOMLParseError? {
  do {
    _ = try TOML.parse(text)
    return nil
  } catch {
    return error
  }
}

/// Compares our value with toml-test's tagged JSON (`{"type": "integer", "value": "42"}` for scalars, plain JSON
/// objects and arrays for tables and arrays). Returns where they differ, or nil. Object key order is not compared
/// here (the suite's JSON files are not in document order); `TOMLShapeTests` checks our order.
private func mismatch(_ have: JSON, _ want: JSON, at path: String = "") -> String? {
  switch want {
  case .array(let wantItems):
    guard case .array(let haveItems) = have else { return "\(path): expected an array" }
    guard haveItems.count == wantItems.count else {
      return "\(path): \(haveItems.count) items, want \(wantItems.count)"
    }
    for (n, (h, w)) in zip(haveItems, wantItems).enumerated() {
      if let diff = mismatch(h, w, at: "\(path)/\(n)") { return diff }
    }
    return nil
  case .object(let wantObject):
    if wantObject.count == 2, case .string(let type)? = wantObject["type"],
      case .string(let text)? = wantObject["value"]
    {
      return scalarMismatch(have, type: type, text: text, at: path)
    }
    guard case .object(let haveObject) = have else { return "\(path): expected a table" }
    guard Set(haveObject.keys) == Set(wantObject.keys) else {
      return "\(path): keys \(haveObject.keys.sorted()), want \(wantObject.keys.sorted())"
    }
    for (key, w) in wantObject {
      if let diff = mismatch(haveObject[key]!, w, at: "\(path)/\(key)") { return diff }
    }
    return nil
  default:
    return "\(path): unexpected expected-value \(want)"
  }
}

private func scalarMismatch(_ have: JSON, type: String, text: String, at path: String) -> String? {
  let ok: Bool
  switch type {
  case "string":
    ok = have == .string(text)
  case "integer":
    ok = Int64(text).map { have == .int($0) } ?? false
  case "bool":
    ok = have == .bool(text == "true")
  case "float":
    guard case .double(let d) = have else { return "\(path): expected a float, got \(have)" }
    switch text.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "+")) {
    case "nan", "-nan": ok = d.isNaN
    case "inf": ok = d == .infinity
    case "-inf": ok = d == -.infinity
    default:
      let want = Double(text)
      ok = want == d && want?.sign == d.sign
    }
  case "datetime", "datetime-local", "date-local", "time-local":
    // We keep the document's own text; toml-test compares instants, so normalise the spellings TOML allows
    // (space or t for T, z for Z) the way its runner does, and drop trailing zeros of a fraction (.600 = .6).
    func normal(_ s: String) -> String {
      var t = s.replacingOccurrences(of: " ", with: "T").replacingOccurrences(of: "t", with: "T")
        .replacingOccurrences(of: "z", with: "Z")
      if let dot = t.firstIndex(of: ".") {
        let digitsEnd = t[t.index(after: dot)...].firstIndex { !$0.isNumber } ?? t.endIndex
        var fraction = t[t.index(after: dot)..<digitsEnd]
        while fraction.last == "0" { fraction = fraction.dropLast() }
        t = String(t[..<dot]) + (fraction.isEmpty ? "" : "." + fraction) + String(t[digitsEnd...])
      }
      return t
    }
    guard case .string(let s) = have else { return "\(path): expected a date-time string, got \(have)" }
    ok = normal(s) == normal(text)
  default:
    return "\(path): unknown type \(type)"
  }
  return ok ? nil : "\(path): got \(have), want \(type) \(text)"
}

@Suite struct TOMLSuiteTests {
  @Test func everyValidCaseDecodesToTheExpectedJSON() throws {
    let all = cases("valid")
    #expect(all.count == 210, "the shipped valid cases (see the fixtures README)")
    var failures: [String] = []
    for name in all {
      let tomlURL = fixtures.appendingPathComponent("valid/\(name)")
      let jsonURL = tomlURL.deletingPathExtension().appendingPathExtension("json")
      let expected = try JSONParser.parse(String(decoding: bytes(jsonURL), as: UTF8.self))
      do {
        let value = try TOML.parse(bytes: bytes(tomlURL))
        if let diff = mismatch(value, expected) { failures.append("\(name): \(diff)") }
      } catch {
        failures.append("\(name): rejected: \(error)")
      }
    }
    #expect(failures.isEmpty, "\(failures.count) valid cases failed:\n\(failures.joined(separator: "\n"))")
  }

  @Test func everyInvalidCaseIsRejected() {
    let all = cases("invalid")
    #expect(all.count == 499, "the shipped invalid cases (see the fixtures README)")
    var accepted: [String] = []
    for name in all {
      do {
        _ = try TOML.parse(bytes: bytes(fixtures.appendingPathComponent("invalid/\(name)")))
        accepted.append(name)
      } catch {
        #expect(error.line >= 1 && error.column >= 1)
      }
    }
    #expect(accepted.isEmpty, "\(accepted.count) invalid cases accepted:\n\(accepted.joined(separator: "\n"))")
  }
}

@Suite struct TOMLShapeTests {
  @Test func keepsDocumentOrderOfKeysAndTables() throws {
    let value = try TOML.parse(
      """
      zeta = 1
      alpha = 2
      [m]
      y = 1
      x = 2
      [b]
      [a]
      """)
    #expect(value.objectValue?.keys == ["zeta", "alpha", "m", "b", "a"])
    #expect(value["m"]?.objectValue?.keys == ["y", "x"])
  }

  @Test func mapsEachKindOfValue() throws {
    let value = try TOML.parse(
      #"""
      s = "a\tb\u00e9\U0001F600"
      l = 'C:\path'
      ml = """
      one \
         two"""
      mll = '''
      raw\n'''
      i = 0xff_ff
      o = 0o17
      bin = 0b101
      big = 9_223_372_036_854_775_807
      f = 6.25e-1
      ninf = -inf
      n = nan
      t = true
      when = 1979-05-27 07:32:00Z
      day = 1979-05-27
      arr = [ 1, "two", [3.0], { k = 4 }, ]
      """#)
    #expect(value["s"] == .string("a\tb\u{e9}\u{1F600}"))
    #expect(value["l"] == .string("C:\\path"))
    #expect(value["ml"] == .string("one two"))
    #expect(value["mll"] == .string("raw\\n"))
    #expect(value["i"] == .int(0xffff))
    #expect(value["o"] == .int(15))
    #expect(value["bin"] == .int(5))
    #expect(value["big"] == .int(Int64.max))
    #expect(value["f"] == .double(0.625))
    #expect(value["ninf"] == .double(-.infinity))
    #expect(value["n"]?.doubleValue?.isNaN == true)
    #expect(value["t"] == .bool(true))
    #expect(value["when"] == .string("1979-05-27 07:32:00Z"), "date-times keep their original text")
    #expect(value["day"] == .string("1979-05-27"))
    #expect(value["arr"] == [1, "two", [3.0], ["k": 4]])
  }

  @Test func redefinitionsAreErrorsWithTheirPosition() {
    let cases: [(String, Int, Int)] = [
      ("a = 1\na = 2", 2, 1),
      ("[t]\nx = 1\n[t]", 3, 2),
      ("[t]\nx.y = 1\n[t.x]", 3, 4),
      ("[[t]]\n[t]", 2, 2),
      ("t = {a = 1}\n[t]", 2, 2),
      ("t = [1]\n[[t]]", 2, 3),
      ("[a.b]\n[a]\nb.c = 1", 3, 1),
      ("x = { a = 1, a = 2 }", 1, 14),
    ]
    for (text, line, column) in cases {
      let error = tomlError(text)
      #expect(error?.line == line && error?.column == column, "\(text.debugDescription): \(String(describing: error))")
    }
  }

  @Test func errorMessagesNeverEchoTheDocument() {
    let secret = "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    let documents = [
      "token = \(secret)",  // unquoted value
      "token = \"\(secret)",  // unterminated string
      "token = \"\(secret)\\q\"",  // bad escape
      "\(secret)",  // a bare line
      "\(secret) = 1\n\(secret) = 2",  // duplicate key
      "[\(secret)]\n[\(secret)]",  // duplicate table
      "token = '\(secret)' \(secret)",  // text after the value
      "t = { k = \"\(secret)\" \n}",  // newline in an inline table
    ]
    for document in documents {
      guard let error = tomlError(document) else {
        Issue.record("accepted: \(document.debugDescription)")
        continue
      }
      #expect(!error.description.contains("ghp_"), "\(error)")
      #expect(!error.description.contains("ABCDEF"), "\(error)")
    }
  }

  @Test func locationsGiveTheLineOfEachValue() throws {
    let (value, lines) = try TOML.parseWithLocations(
      """
      # comment
      top = "x"

      [mcp_servers.github]
      command = "npx"
      args = [
        "-y",
        "server",
      ]
      env = { GITHUB_TOKEN = "t" }

      [[mcp_servers.github.extra]]
      k = 1
      [[mcp_servers.github.extra]]
      "a/b" = { "c~d" = 2 }
      """)
    #expect(value["mcp_servers"]?["github"]?["args"]?[1] == "server")
    #expect(lines[""] == 1)
    #expect(lines["/top"] == 2)
    #expect(lines["/mcp_servers"] == 4)
    #expect(lines["/mcp_servers/github"] == 4)
    #expect(lines["/mcp_servers/github/command"] == 5)
    #expect(lines["/mcp_servers/github/args"] == 6)
    #expect(lines["/mcp_servers/github/args/0"] == 7)
    #expect(lines["/mcp_servers/github/args/1"] == 8)
    #expect(lines["/mcp_servers/github/env/GITHUB_TOKEN"] == 10)
    #expect(lines["/mcp_servers/github/extra"] == 12)
    #expect(lines["/mcp_servers/github/extra/0/k"] == 13)
    #expect(lines["/mcp_servers/github/extra/1"] == 14)
    #expect(lines["/mcp_servers/github/extra/1/a~1b/c~0d"] == 15)
  }

  @Test func invalidUTF8IsRejectedNotRepaired() {
    let bad: [UInt8] = Array("k = \"".utf8) + [0xC3, 0x28] + Array("\"".utf8)
    #expect(throws: TOMLParseError.self) { try TOML.parse(bytes: bad) }
  }

  @Test func deepNestingIsRefusedNotACrash() {
    let deep = "a = " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    #expect(tomlError(deep)?.message.contains("deep") == true)
    let longHeader = "[" + Array(repeating: "k", count: 10_000).joined(separator: ".") + "]"
    #expect(tomlError(longHeader) != nil)
  }
}

@Suite struct CodexConfigTOMLTests {
  @Test func codexConfigWithStdioAndHTTPServers() throws {
    let text = """
      model = "gpt-5-codex"
      approval_policy = "on-request"

      [projects."/home/dev/src/app"]
      trust_level = "trusted"

      # stdio server, env as its own table
      [mcp_servers.github]
      command = "npx"
      args = ["-y", "@modelcontextprotocol/server-github"]
      startup_timeout_sec = 20

      [mcp_servers.github.env]
      GITHUB_PERSONAL_ACCESS_TOKEN = "ghp_exampleexampleexampleexample0000"

      # stdio server, env inline
      [mcp_servers.postgres]
      command = "uvx"
      args = ["mcp-server-postgres", "--dsn", "postgres://app:hunter2@db.internal:5432/app"]
      env = { "PGPASSWORD" = 'pa"ss' }
      env_vars = ["HOME"]

      # Streamable HTTP server
      [mcp_servers.figma]
      url = "https://mcp.figma.com/mcp"
      bearer_token_env_var = "FIGMA_OAUTH_TOKEN"
      http_headers = { "X-Api-Key" = "figd_example", "X-Team" = "design" }
      env_http_headers = { "X-Org" = "FIGMA_ORG" }
      enabled_tools = ["get_file"]
      tool_timeout_sec = 60.5
      enabled = true

      [mcp_servers.linear.http_headers]
      Authorization = "Bearer lin_api_example"
      """
    let (config, lines) = try TOML.parseWithLocations(text)
    let servers = try #require(config["mcp_servers"]?.objectValue)
    #expect(servers.keys == ["github", "postgres", "figma", "linear"])
    #expect(config["projects"]?["/home/dev/src/app"]?["trust_level"] == "trusted")

    let github = try #require(servers["github"])
    #expect(github["command"] == "npx")
    #expect(github["args"] == ["-y", "@modelcontextprotocol/server-github"])
    #expect(github["startup_timeout_sec"] == .int(20))
    #expect(github["env"]?["GITHUB_PERSONAL_ACCESS_TOKEN"] == "ghp_exampleexampleexampleexample0000")
    #expect(lines["/mcp_servers/github/env/GITHUB_PERSONAL_ACCESS_TOKEN"] == 14)

    let postgres = try #require(servers["postgres"])
    #expect(postgres["args"]?[2] == "postgres://app:hunter2@db.internal:5432/app")
    #expect(postgres["env"] == ["PGPASSWORD": "pa\"ss"])
    #expect(postgres["env_vars"] == ["HOME"])

    let figma = try #require(servers["figma"])
    #expect(figma["http_headers"]?.objectValue?.keys == ["X-Api-Key", "X-Team"])
    #expect(figma["http_headers"]?["X-Api-Key"] == "figd_example")
    #expect(figma["env_http_headers"]?["X-Org"] == "FIGMA_ORG")
    #expect(figma["tool_timeout_sec"] == .double(60.5))
    #expect(figma["enabled"] == .bool(true))
    #expect(lines["/mcp_servers/figma/http_headers/X-Api-Key"] == 27)

    #expect(servers["linear"]?["http_headers"]?["Authorization"] == "Bearer lin_api_example")
    #expect(lines["/mcp_servers/linear/http_headers/Authorization"] == 34)
  }

  @Test func codexConfigMistakesAreReportedWithAPlace() {
    // A server table written twice, as happens when `codex mcp add` output is pasted under an existing entry.
    let twice = """
      [mcp_servers.github]
      command = "npx"

      [mcp_servers.github]
      command = "docker"
      """
    let error = tomlError(twice)
    #expect(error?.line == 4)
    #expect(error?.message == "table defined twice")

    // env given both inline and as a table.
    let both = """
      [mcp_servers.x]
      env = { A = "1" }
      [mcp_servers.x.env]
      B = "2"
      """
    #expect(tomlError(both)?.line == 3)
  }
}
