import Testing

@testable import NHIFormats

// The YAML reader (libyaml events -> JSON values), then real-shaped Continue and Goose configs.
//
// Sources for the shapes:
// - Continue: the config.yaml reference (https://docs.continue.dev/reference, "mcpServers": a list of entries with
//   `name`, `command`, `args`, `env`, `type`/`url` for remote servers; top-level `name`, `version`, `schema: v1`)
//   and the MCP deep dive (https://docs.continue.dev/customize/deep-dives/mcp: `.continue/mcpServers/*.yaml` blocks
//   with the same `mcpServers:` list, `${{ secrets.NAME }}` templating).
// - Goose: "Configuration Files" (https://block.github.io/goose/docs/guides/config-files:
//   `~/.config/goose/config.yaml`, `extensions:` keyed by name, each with `enabled`, `type` (builtin, stdio,
//   streamable_http), `name`, `cmd`, `args`, `envs`, `env_keys`, `timeout`, `description`, `bundled`; remote ones
//   with `uri` and `headers`), and the config.yaml that `goose configure` writes (block's own GitHub extension
//   tutorial: `GITHUB_PERSONAL_ACCESS_TOKEN` under `envs`).

private func yamlError(_ text: String, options: YAML.Options = YAML.Options()) -> YAMLParseError? {
  do {
    _ = try YAML.parse(text, options: options)
    return nil
  } catch {
    return error
  }
}

@Suite struct YAMLValueTests {
  @Test func plainScalarsFollowTheCoreSchemaAndQuotedOnesStayStrings() throws {
    let value = try YAML.parse(
      """
      n1: null
      n2: ~
      n3:
      b1: true
      b2: FALSE
      i1: 42
      i2: -17
      i3: 0x1F
      i4: 0o17
      i5: 010
      big: 123456789012345678901234
      f1: 1.5
      f2: 1e3
      f3: -.inf
      f4: .NaN
      f5: .5
      f6: 3.
      q1: "42"
      q2: 'true'
      q3: "null"
      s1: yes
      s2: off
      s3: 1_000
      s4: 2001-12-14
      s5: 0b101
      s6: 12:30
      s7: +.5e
      t1: !!str 12
      t2: !!int "12"
      t3: !!float 1
      t4: !Secret ghp_notatag
      """)
    let object = try #require(value.objectValue)
    #expect(object["n1"] == .null && object["n2"] == .null && object["n3"] == .null)
    #expect(object["b1"] == .bool(true) && object["b2"] == .bool(false))
    #expect(object["i1"] == .int(42) && object["i2"] == .int(-17))
    #expect(object["i3"] == .int(31) && object["i4"] == .int(15))
    #expect(object["i5"] == .int(10), "1.2 core schema: a leading zero is decimal, not octal")
    #expect(object["big"] == .double(Double("123456789012345678901234")!), "past Int64: a double, as JSONParser does")
    #expect(object["f1"] == .double(1.5) && object["f2"] == .double(1000))
    #expect(object["f3"] == .double(-.infinity))
    #expect(object["f4"]?.doubleValue?.isNaN == true)
    #expect(object["f5"] == .double(0.5) && object["f6"] == .double(3))
    #expect(object["q1"] == "42" && object["q2"] == "true" && object["q3"] == "null")
    // YAML 1.1 would make these booleans, numbers and dates; 1.2's core schema leaves them strings.
    #expect(object["s1"] == "yes" && object["s2"] == "off")
    #expect(object["s3"] == "1_000" && object["s4"] == "2001-12-14" && object["s5"] == "0b101")
    #expect(object["s6"] == "12:30" && object["s7"] == "+.5e")
    #expect(object["t1"] == "12" && object["t2"] == .int(12) && object["t3"] == .double(1))
    #expect(object["t4"] == "ghp_notatag", "an unknown tag leaves the scalar's text")
  }

  @Test func blockScalarsSequencesAndOrder() throws {
    let value = try YAML.parse(
      """
      zeta: |
        line one
        line two
      alpha: >-
        folded
        text
      list:
        - 1
        - [a, "b", {c: d}]
        - key: value
          other: 2
      """)
    #expect(value.objectValue?.keys == ["zeta", "alpha", "list"])
    #expect(value["zeta"] == "line one\nline two\n")
    #expect(value["alpha"] == "folded text")
    #expect(value["list"] == [1, ["a", "b", ["c": "d"]], ["key": "value", "other": 2]])
    #expect(value["list"]?[2]?.objectValue?.keys == ["key", "other"])
  }

  @Test func anchorsAndAliasesAreResolvedAndMergeKeysKeptAsKeys() throws {
    let value = try YAML.parse(
      """
      common: &env
        LOG_LEVEL: debug
        API_KEY: &key sk-example
      a:
        env: *env
      b:
        token: *key
        env:
          <<: *env
          EXTRA: "1"
      """)
    #expect(value["a"]?["env"] == ["LOG_LEVEL": "debug", "API_KEY": "sk-example"])
    #expect(value["b"]?["token"] == "sk-example")
    #expect(value["b"]?["env"]?.objectValue?.keys == ["<<", "EXTRA"])
    #expect(value["b"]?["env"]?["<<"]?["API_KEY"] == "sk-example")
  }

  @Test func aliasBombsAreRefused() {
    // "Billion laughs": nine levels of nine-fold aliases, about 387 million nodes if expanded.
    var text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    for level in 1...9 {
      let refs = Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ")
      text += "a\(level): &a\(level) [\(refs)]\n"
    }
    let error = yamlError(text)
    #expect(error?.message.contains("expands to more than") == true)
    // a0...a5 come to 672,604 nodes; a6 (line 7) would add 5,380,840.
    #expect(error?.line == 7, "refused where the count passes the bound, not after building it")

    // The bound counts aliased nodes in full: root 1, a 3, b 1, three aliases of 3 each: 14 nodes.
    let small = "a: &a [1, 2]\nb: [*a, *a, *a]\n"
    #expect(yamlError(small, options: YAML.Options(maxNodes: 13)) != nil)
    #expect(yamlError(small, options: YAML.Options(maxNodes: 14)) == nil)
  }

  @Test func streamsOfNoneOneOrMoreDocuments() throws {
    #expect(try YAML.parse("") == .null)
    #expect(try YAML.parse("# only a comment\n") == .null)
    #expect(try YAML.parse("---\na: 1\n...\n") == ["a": 1])
    let error = yamlError("a: 1\n---\nb: 2\n")
    #expect(error?.line == 2 && error?.message.contains("more than one YAML document") == true)
  }

  @Test func structuralErrorsHaveTheirPlace() {
    let cases: [(String, Int, Int, String)] = [
      ("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key"),
      ("x:\n  k: 1\n  k: 2\n", 3, 3, "duplicate key"),
      ("? [a, b]\n: c\n", 1, 3, "must be a scalar"),
      ("a: *missing\n", 1, 4, "not defined"),
      ("a: &x [*x]\n", 1, 8, "not defined"),
      ("a: 1\n b: 2\n", 2, 3, "mapping values are not allowed"),
      ("a: [1, 2\n", 2, 1, "did not find expected"),
      ("a: !!int abc\n", 1, 4, "!!int"),
    ]
    for (text, line, column, fragment) in cases {
      let error = yamlError(text)
      #expect(error?.line == line && error?.column == column, "\(text.debugDescription): \(String(describing: error))")
      #expect(error?.message.contains(fragment) == true, "\(text.debugDescription): \(String(describing: error))")
    }
  }

  @Test func errorMessagesNeverEchoTheDocument() {
    let secret = "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    let documents = [
      "token: \"\(secret)",  // unterminated quote
      "token: \(secret): x",  // mapping value in a plain scalar
      "\(secret): 1\n\(secret): 2",  // duplicate key
      "token: \"\(secret)\\q\"",  // bad escape
      "env:\n\tTOKEN: \(secret)",  // tab indentation
      "token: *\(secret)",  // unknown alias named like the secret
      "token: !!int \(secret)",  // tag that does not fit
      "a: 1\n---\ntoken: \(secret)",  // second document
      "- \(secret)\n\(secret): x",  // mapping after a sequence
    ]
    for document in documents {
      guard let error = yamlError(document) else {
        Issue.record("accepted: \(document.debugDescription)")
        continue
      }
      #expect(!error.description.contains("ghp_"), "\(error)")
      #expect(!error.description.contains("ABCDEF"), "\(error)")
    }
    let badUTF8: [UInt8] = Array("token: \(secret)".utf8) + [0xC3, 0x28, 0x0A]
    #expect(throws: YAMLParseError.self) { try YAML.parse(bytes: badUTF8) }
  }

  @Test func deepNestingIsRefusedNotACrash() {
    let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    #expect(yamlError(deep)?.message.contains("nesting deeper") == true)
  }

  @Test func locationsGiveTheLineOfEachValue() throws {
    let (value, lines) = try YAML.parseWithLocations(
      """
      # comment
      name: cfg
      servers:
        - name: one
          env:
            TOKEN: abc
            "a/b~c": 2
        - [x, y]
      alias: &anchor
        k: v
      copy: *anchor
      """)
    #expect(value["servers"]?[0]?["env"]?["TOKEN"] == "abc")
    #expect(lines[""] == 2)
    #expect(lines["/name"] == 2)
    #expect(lines["/servers"] == 4)
    #expect(lines["/servers/0"] == 4)
    #expect(lines["/servers/0/name"] == 4)
    #expect(lines["/servers/0/env"] == 6)
    #expect(lines["/servers/0/env/TOKEN"] == 6)
    #expect(lines["/servers/0/env/a~1b~0c"] == 7)
    #expect(lines["/servers/1"] == 8)
    #expect(lines["/servers/1/1"] == 8)
    #expect(lines["/alias/k"] == 10)
    #expect(lines["/copy"] == 11)
  }
}

@Suite struct ClientConfigYAMLTests {
  @Test func continueConfigWithMCPServerList() throws {
    let text = """
      name: Local Config
      version: 1.0.0
      schema: v1
      models:
        - name: GPT-4o
          provider: openai
          model: gpt-4o
          apiKey: sk-proj-exampleexampleexample
          roles:
            - chat
            - edit
      mcpServers:
        - name: GitHub
          command: npx
          args:
            - "-y"
            - "@modelcontextprotocol/server-github"
          env:
            GITHUB_PERSONAL_ACCESS_TOKEN: ghp_exampleexampleexampleexample0000
        - name: Postgres
          command: npx
          args: ["-y", "@modelcontextprotocol/server-postgres", "postgresql://app:hunter2@localhost/app"]
          env:
            PGPORT: 5432
            FROM_SECRET: ${{ secrets.PG_PASSWORD }}
        - name: Remote
          type: streamable-http
          url: https://mcp.example.com/mcp
          requestOptions:
            headers:
              Authorization: "Bearer sk-example-remote"
      """
    let (config, lines) = try YAML.parseWithLocations(text)
    #expect(config["schema"] == "v1")
    #expect(config["version"] == "1.0.0", "a dotted version is not a float")
    let servers = try #require(config["mcpServers"]?.arrayValue)
    #expect(servers.count == 3)
    #expect(servers.map { $0["name"] } == ["GitHub", "Postgres", "Remote"])
    #expect(servers[0]["args"] == ["-y", "@modelcontextprotocol/server-github"])
    #expect(servers[0]["env"]?["GITHUB_PERSONAL_ACCESS_TOKEN"] == "ghp_exampleexampleexampleexample0000")
    #expect(lines["/mcpServers/0/env/GITHUB_PERSONAL_ACCESS_TOKEN"] == 19)
    #expect(servers[1]["args"]?[2] == "postgresql://app:hunter2@localhost/app")
    #expect(servers[1]["env"]?["PGPORT"] == .int(5432), "an unquoted number in env is read as one")
    #expect(servers[1]["env"]?["FROM_SECRET"] == "${{ secrets.PG_PASSWORD }}")
    #expect(servers[2]["requestOptions"]?["headers"]?["Authorization"] == "Bearer sk-example-remote")
    #expect(lines["/mcpServers/2/requestOptions/headers/Authorization"] == 31)
    #expect(config["models"]?[0]?["apiKey"] == "sk-proj-exampleexampleexample")
  }

  @Test func gooseConfigWithExtensionsAndEnvs() throws {
    let text = """
      GOOSE_PROVIDER: anthropic
      GOOSE_MODEL: claude-sonnet-4
      GOOSE_MODE: smart_approve
      extensions:
        developer:
          bundled: true
          display_name: Developer
          enabled: true
          name: developer
          timeout: 300
          type: builtin
        github:
          args:
          - -y
          - '@modelcontextprotocol/server-github'
          bundled: null
          cmd: npx
          description: GitHub repositories
          enabled: true
          env_keys: []
          envs:
            GITHUB_PERSONAL_ACCESS_TOKEN: ghp_exampleexampleexampleexample0000
          name: github
          timeout: 300
          type: stdio
        remote-tools:
          enabled: false
          name: remote-tools
          type: streamable_http
          uri: https://mcp.example.com/mcp
          headers: { "X-Api-Key": "k-example", X-Team: ops }
          envs: {}
      """
    let (config, lines) = try YAML.parseWithLocations(text)
    #expect(config["GOOSE_PROVIDER"] == "anthropic")
    let extensions = try #require(config["extensions"]?.objectValue)
    #expect(extensions.keys == ["developer", "github", "remote-tools"])
    #expect(extensions["developer"]?["bundled"] == .bool(true))
    let github = try #require(extensions["github"])
    #expect(github["type"] == "stdio" && github["cmd"] == "npx")
    #expect(github["args"] == ["-y", "@modelcontextprotocol/server-github"])
    #expect(github["bundled"] == .null && github["env_keys"] == [])
    #expect(github["timeout"] == .int(300))
    #expect(github["envs"]?["GITHUB_PERSONAL_ACCESS_TOKEN"] == "ghp_exampleexampleexampleexample0000")
    #expect(lines["/extensions/github/envs/GITHUB_PERSONAL_ACCESS_TOKEN"] == 22)
    let remote = try #require(extensions["remote-tools"])
    #expect(remote["enabled"] == .bool(false))
    #expect(remote["headers"] == ["X-Api-Key": "k-example", "X-Team": "ops"])
    #expect(remote["envs"] == [:])
    #expect(lines["/extensions/remote-tools/headers/X-Api-Key"] == 31)
  }
}
