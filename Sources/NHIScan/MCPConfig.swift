import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules

/// Reads one MCP client configuration file and lists the places a credential sits in it: literal credentials
/// (to fingerprint and match) and indirect references (`${input:...}`, `${env:...}`, `${VAR}`), which are the
/// good practice. The shapes are those of Docs/references.md §6: a top-level `mcpServers` object (Claude Desktop,
/// Claude Code `.mcp.json`, Cursor, Windsurf), Claude Code's `~/.claude.json` (`projects.<path>.mcpServers`), and
/// VS Code's `servers` + `inputs`. Each server's `env`, `headers`, `args`, `url` and `command` are read.
public enum MCPConfig {
    /// One credential slot in a config file.
    public struct Slot: Sendable, Equatable {
        public enum Content: Sendable, Equatable {
            /// A literal credential: the exact value to fingerprint (scheme such as `Bearer ` stripped), and why.
            case credential(value: String, finding: SecretDetector.Finding)
            /// A reference resolved by the client at start-up; `reference` is its redacted text (`${input:gh-token}`).
            case indirect(reference: String)
        }
        public let server: String
        /// Where in the server entry, for people: `env.GITHUB_TOKEN`, `headers.Authorization`, `args[3] --token`, `url ?token`.
        public let key: String
        /// JSON Pointer (RFC 6901) of the JSON value holding it.
        public let pointer: String
        /// 1-based line of that value in the file (0 when unknown).
        public let line: Int
        public let content: Content
    }

    public struct Document: Sendable {
        /// False when the JSON has neither `mcpServers` nor `servers`: not an MCP client config.
        public let isMCPConfig: Bool
        public let serverCount: Int
        public let slots: [Slot]
    }

    /// Parses `text` (JSON with comments and trailing commas, as VS Code's schema allows) and lists its slots.
    public static func read(_ text: String) throws(JSONParseError) -> Document {
        if text.utf8.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
            return Document(isMCPConfig: false, serverCount: 0, slots: [])  // an empty file a client created
        }
        let (root, lines) = try JSONParser.parseWithLocations(text, options: .jsonc)
        var reader = Reader(lines: lines)
        if case .array(let inputs)? = root["inputs"] {
            for input in inputs where input["password"]?.boolValue == true {
                if let id = input["id"]?.stringValue { reader.passwordInputs.insert(id) }
            }
        }
        var found = false
        for (member, label) in [("mcpServers", ""), ("servers", "")] {
            if let servers = root[member]?.objectValue {
                found = true
                reader.readServers(servers, pointer: "/" + member, label: label)
            }
        }
        if let projects = root["projects"]?.objectValue {
            for (path, project) in projects {
                guard let servers = project["mcpServers"]?.objectValue else { continue }
                found = true
                reader.readServers(servers, pointer: "/projects/" + escape(path) + "/mcpServers", label: path + " ")
            }
        }
        return Document(isMCPConfig: found, serverCount: reader.serverCount, slots: reader.slots)
    }

    /// RFC 6901 escaping of one pointer segment.
    package static func escape(_ segment: String) -> String {
        var out = ""
        for c in segment.unicodeScalars {
            switch c {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    private struct Reader {
        package let lines: [String: Int]
        package var passwordInputs: Set<String> = []
        package var slots: [Slot] = []
        package var serverCount = 0
        // The server being read.
        package var server = ""

        package init(lines: [String: Int]) { self.lines = lines }

        package mutating func readServers(_ servers: JSONObject, pointer: String, label: String) {
            for (name, entry) in servers {
                guard let entry = entry.objectValue else { continue }
                serverCount += 1
                server = label + name
                let base = pointer + "/" + escape(name)
                for (member, value) in entry {
                    let at = base + "/" + escape(member)
                    switch member {
                    case "env", "headers":
                        guard let object = value.objectValue else { continue }
                        for (key, item) in object {
                            guard let text = item.stringValue else { continue }
                            check(text, name: key, key: "\(member).\(key)", pointer: at + "/" + escape(key))
                        }
                    case "args":
                        guard let items = value.arrayValue else { continue }
                        readArguments(items.map { $0.stringValue }, key: { "args[\($0)]" }, pointer: { at + "/\($0)" })
                    case "command":
                        // Some configs put a whole command line here (`npx server --token=...`).
                        guard let text = value.stringValue, text.contains(" ") else { continue }
                        let words = text.split(separator: " ").map { String($0) as String? }
                        readArguments(words, key: { _ in "command" }, pointer: { _ in at })
                    case "url", "serverUrl", "httpUrl":
                        guard let text = value.stringValue else { continue }
                        readURL(text, key: member, pointer: at)
                    default: continue
                    }
                }
            }
        }

        /// Arguments: `--token=X`, `--token X`, `NAME=X` (as in `docker run -e NAME=X`), URLs, and bare tokens.
        package mutating func readArguments(_ items: [String?], key: (Int) -> String, pointer: (Int) -> String) {
            var i = 0
            while i < items.count {
                defer { i += 1 }
                guard let arg = items[i], !arg.isEmpty else { continue }
                if MCPConfig.hasScheme(arg) {
                    readURL(arg, key: key(i), pointer: pointer(i))
                    continue
                }
                if arg.hasPrefix("-") {
                    let flag = String(arg.drop { $0 == "-" })
                    // `--header "Authorization: Bearer X"` (mcp-remote, curl -H): the header's own name decides.
                    if flag == "header" || flag == "H", i + 1 < items.count, let next = items[i + 1], !next.hasPrefix("-") {
                        i += 1
                        readHeader(next, key: key(i), pointer: pointer(i))
                        continue
                    }
                    if flag.hasPrefix("header=") {
                        readHeader(String(flag.dropFirst(7)), key: key(i), pointer: pointer(i))
                        continue
                    }
                    if let eq = flag.firstIndex(of: "=") {
                        let name = String(flag[..<eq])
                        check(String(flag[flag.index(after: eq)...]), name: name, key: "\(key(i)) --\(name)", pointer: pointer(i))
                    } else if SecretDetector.isSecretName(flag), i + 1 < items.count, let next = items[i + 1], !next.hasPrefix("-") {
                        i += 1
                        check(next, name: flag, key: "\(key(i)) (after --\(flag))", pointer: pointer(i))
                    }
                    continue
                }
                if let eq = arg.firstIndex(of: "="), MCPConfig.isVariableName(arg[..<eq]) {
                    let name = String(arg[..<eq])
                    check(String(arg[arg.index(after: eq)...]), name: name, key: "\(key(i)) \(name)", pointer: pointer(i))
                    continue
                }
                // A bare word: only a known token format, or high entropy in something that is not a path or package.
                guard let finding = SecretDetector.inspect(arg), !SecretDetector.isPlaceholder(arg) else { continue }
                if case .highEntropy = finding, let first = arg.first, "/~.@".contains(first) { continue }
                if MCPConfig.references(in: arg).isEmpty {
                    add(key: key(i), pointer: pointer(i), .credential(value: arg, finding: finding))
                }
            }
        }

        /// `Name: value` given as an argument.
        package mutating func readHeader(_ header: String, key: String, pointer: String) {
            guard let colon = header.firstIndex(of: ":") else { return }
            let name = String(header[..<colon])
            let value = String(header[header.index(after: colon)...].drop { $0 == " " })
            check(value, name: name, key: "\(key) header \(name)", pointer: pointer)
        }

        /// `scheme://user:password@host/path?token=X`: the password and secret-ish query parameters.
        package mutating func readURL(_ url: String, key: String, pointer: String) {
            guard let schemeEnd = url.firstRange(of: "://") else { return }
            let afterScheme = url[schemeEnd.upperBound...]
            let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
            let authority = afterScheme[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    let password = MCPConfig.percentDecoded(userinfo[userinfo.index(after: colon)...])
                    if !password.isEmpty { check(password, name: "password", key: "\(key) password", pointer: pointer, wholeSlot: true) }
                } else {
                    check(MCPConfig.percentDecoded(userinfo), name: "user", key: "\(key) user", pointer: pointer)
                }
            }
            guard let question = url.firstIndex(of: "?") else { return }
            let query = url[url.index(after: question)...].prefix { $0 != "#" }
            for pair in query.split(separator: "&") {
                guard let eq = pair.firstIndex(of: "=") else { continue }
                let name = MCPConfig.percentDecoded(pair[..<eq])
                check(MCPConfig.percentDecoded(pair[pair.index(after: eq)...]), name: name, key: "\(key) ?\(name)", pointer: pointer)
            }
        }

        /// Classifies one value found under `name`: a literal credential, an indirect reference, or nothing.
        package mutating func check(_ raw: String, name: String, key: String, pointer: String, wholeSlot: Bool = false) {
            var value = raw
            if value.hasSuffix("\n") { value.removeLast() }  // as `--secret-stdin` strips one trailing newline
            var scheme = false
            if let space = value.firstIndex(of: " "),
               ["bearer", "basic", "token", "bot"].contains(value[..<space].lowercased()) {
                value = String(value[value.index(after: space)...].drop { $0 == " " })
                scheme = true
            }
            let references = MCPConfig.references(in: value)
            guard !references.isEmpty else {
                let finding = scheme ? SecretDetector.inspect(value, underName: "authorization", wholeSlot: true)
                                     : SecretDetector.inspect(value, underName: name, wholeSlot: wholeSlot)
                if let finding { add(key: key, pointer: pointer, .credential(value: value, finding: finding)) }
                return
            }
            // `${VAR:-default}`: the default is a literal that lands in the process when VAR is unset.
            for reference in references {
                if let fallback = reference.fallback, let finding = SecretDetector.inspect(fallback, underName: name) {
                    add(key: key + " (default)", pointer: pointer, .credential(value: fallback, finding: finding))
                }
            }
            var rest = value
            for reference in references.reversed() { rest.removeSubrange(reference.range) }
            if let finding = SecretDetector.inspect(rest, underName: name) {
                add(key: key, pointer: pointer, .credential(value: value, finding: finding))
                return
            }
            let secretInput = references.contains { $0.kind == "input" && passwordInputs.contains($0.name) }
            if scheme || secretInput || SecretDetector.isSecretName(name) {
                add(key: key, pointer: pointer, .indirect(reference: references.map(\.display).joined(separator: " ")))
            }
        }

        package mutating func add(key: String, pointer: String, _ content: Slot.Content) {
            slots.append(Slot(server: server, key: key, pointer: pointer, line: lines[pointer] ?? 0, content: content))
        }
    }

    /// A `${...}` (or whole-value `$NAME`) reference.
    package struct Reference {
        package let range: Range<String.Index>
        /// `input`, `env`, or `var` (`${NAME}`, `${NAME:-default}`, `$NAME`; VS Code's `${workspaceFolder}` too).
        package let kind: String
        package let name: String
        package let fallback: String?

        package var display: String {
            switch kind {
            case "var": return fallback == nil ? "${\(name)}" : "${\(name):-…}"
            default: return "${\(kind):\(name)}"
            }
        }
    }

    package static func references(in value: String) -> [Reference] {
        var result: [Reference] = []
        guard value.utf8.contains(36 /* $ */) else { return result }
        var search = value.startIndex
        while let open = value[search...].firstRange(of: "${") {
            guard let close = value[open.upperBound...].firstIndex(of: "}") else { break }
            let body = value[open.upperBound..<close]
            let range = open.lowerBound..<value.index(after: close)
            if let dash = body.firstRange(of: ":-") {
                result.append(Reference(range: range, kind: "var", name: String(body[..<dash.lowerBound]),
                                        fallback: String(body[dash.upperBound...])))
            } else if let colon = body.firstIndex(of: ":") {
                result.append(Reference(range: range, kind: String(body[..<colon]),
                                        name: String(body[body.index(after: colon)...]), fallback: nil))
            } else {
                result.append(Reference(range: range, kind: "var", name: String(body), fallback: nil))
            }
            search = range.upperBound
        }
        if result.isEmpty, value.hasPrefix("$"), isVariableName(value.dropFirst()) {
            result.append(Reference(range: value.startIndex..<value.endIndex, kind: "var", name: String(value.dropFirst()), fallback: nil))
        }
        return result
    }

    /// Whether `text` contains `://` (a URL), without a generic substring search.
    package static func hasScheme(_ text: String) -> Bool {
        var colon = 0
        for b in text.utf8 {
            if b == 58 { colon = 1 } else if b == 47 && colon > 0 { colon += 1; if colon == 3 { return true } } else { colon = 0 }
        }
        return false
    }

    package static func isVariableName(_ text: Substring) -> Bool {
        func letter(_ b: UInt8) -> Bool { (b | 0x20) >= 97 && (b | 0x20) <= 122 || b == 95 }
        guard let first = text.utf8.first, letter(first) else { return false }
        return text.utf8.allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
    }

    package static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.popFirst() {
            if b == 37 /* % */, utf8.count >= 2, let hi = hexValue(utf8[utf8.startIndex]), let lo = hexValue(utf8[utf8.startIndex + 1]) {
                bytes.append(hi << 4 | lo)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 65...70: return b - 55
        case 97...102: return b - 87
        default: return nil
        }
    }
}
