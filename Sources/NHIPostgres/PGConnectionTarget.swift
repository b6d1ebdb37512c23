import CLibPQ

/// Where a connection string points, for messages: host (or socket directory), port, database and user, with
/// libpq's defaults (PGHOST, PGPORT, PGDATABASE, PGUSER, the OS user, the socket directory) filled in. Never the
/// password, nor any other option.
public struct PGConnectionTarget: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: String
    public let database: String
    public let user: String

    public init(host: String, port: String, database: String, user: String) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
    }

    /// Parses a URI (`postgresql://...`, `postgres://...`) or a `key=value` string with PQconninfoParse.
    /// A string libpq cannot parse throws `.misuse`, with libpq's reason unless that would show a secret.
    public init(parsing conninfo: String) throws(PGError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(errorMessage)
            let shown = PGSecrets.redact(PGSecrets.oneLine(reason), conninfo: conninfo)
            throw PGError(kind: .misuse, message: "invalid PostgreSQL connection string: \(shown)")
        }
        defer { PQconninfoFree(options) }
        let given = PGConnectionTarget.values(options)
        var defaults: [String: String] = [:]
        if let fallback = PQconndefaults() {
            defaults = PGConnectionTarget.values(fallback)
            PQconninfoFree(fallback)
        }
        func value(_ key: String) -> String? { given[key] ?? defaults[key] }
        let user = value("user") ?? ""
        self.init(
            host: value("host") ?? value("hostaddr") ?? "/var/run/postgresql",
            port: value("port") ?? "5432",
            database: value("dbname") ?? user,
            user: user)
    }

    /// The keyword/value options with a non-empty value, `password` dropped.
    private static func values(_ options: UnsafeMutablePointer<PQconninfoOption>) -> [String: String] {
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            let key = String(cString: keyword)
            if key != "password", let raw = option.pointee.val {
                let value = String(cString: raw)
                if !value.isEmpty { result[key] = value }
            }
            option += 1
        }
        return result
    }

    /// `host=/tmp/s port=5432 dbname=nhi user=analyst`: libpq's own terms, so it can be pasted into psql.
    public var description: String {
        "host=\(PGConnectionTarget.quoted(host)) port=\(PGConnectionTarget.quoted(port)) "
            + "dbname=\(PGConnectionTarget.quoted(database)) user=\(PGConnectionTarget.quoted(user))"
    }

    private static func quoted(_ value: String) -> String {
        if !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "'" || $0 == "\\" }) { return value }
        return "'" + value.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }

    /// The target of a connection string, or a placeholder when libpq cannot parse it. For messages.
    public static func describe(_ conninfo: String) -> String {
        (try? PGConnectionTarget(parsing: conninfo))?.description ?? "(unparsable connection string)"
    }
}

/// Finds the passwords a connection string may carry, in every spelling libpq accepts, so that no message shows one.
enum PGSecrets {
    /// The password candidates: PQconninfoParse's `password`, the URI's user-info password (raw and decoded),
    /// `password=` in a URI query or in a keyword/value string (raw and decoded).
    static func candidates(in conninfo: String) -> Set<String> {
        var found: Set<String> = []
        func add(_ value: Substring) {
            guard !value.isEmpty else { return }
            found.insert(String(value))
            if let decoded = percentDecoded(value), !decoded.isEmpty { found.insert(decoded) }
        }
        if let options = PQconninfoParse(conninfo, nil) {
            var option = options
            while let keyword = option.pointee.keyword {
                if String(cString: keyword) == "password", let raw = option.pointee.val {
                    add(Substring(String(cString: raw)))
                }
                option += 1
            }
            PQconninfoFree(options)
        }
        let lower = conninfo.lowercased()
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") {
            let rest = conninfo[conninfo.firstRange(of: "://")!.upperBound...]
            let beforeQuery = rest.prefix { $0 != "?" }
            // user:password@host — take the last '@' before the query, generously (a password may hold '@').
            if let at = beforeQuery.lastIndex(of: "@") {
                let userInfo = beforeQuery[..<at]
                if let colon = userInfo.firstIndex(of: ":") { add(userInfo[userInfo.index(after: colon)...]) }
            }
            if let question = rest.firstIndex(of: "?") {
                for pair in rest[rest.index(after: question)...].split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    if parts.count == 2, parts[0].lowercased() == "password" { add(parts[1]) }
                }
            }
        } else {
            // password = value | password = 'quoted \' value' (keyword/value form; ASCII keyword, any case)
            let bytes = Array(conninfo.utf8)
            let keyword = Array("password".utf8)
            var index = 0
            while index + keyword.count <= bytes.count {
                let isKeyword = zip(bytes[index..<index + keyword.count], keyword).allSatisfy { $0 | 0x20 == $1 }
                guard isKeyword else { index += 1; continue }
                var cursor = index + keyword.count
                index += 1
                while cursor < bytes.count, bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
                guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "=") else { continue }
                cursor += 1
                while cursor < bytes.count, bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
                var value: [UInt8] = []
                if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "'") {
                    cursor += 1
                    while cursor < bytes.count, bytes[cursor] != UInt8(ascii: "'") {
                        if bytes[cursor] == UInt8(ascii: "\\"), cursor + 1 < bytes.count { cursor += 1 }
                        value.append(bytes[cursor])
                        cursor += 1
                    }
                } else {
                    while cursor < bytes.count, ![0x20, 0x09, 0x0A, 0x0D].contains(bytes[cursor]) {
                        value.append(bytes[cursor])
                        cursor += 1
                    }
                }
                add(Substring(String(decoding: value, as: UTF8.self)))
            }
        }
        return found
    }

    /// `message` with every password candidate replaced by `***`. A candidate shorter than 4 characters would
    /// turn the message into noise, so then the whole message is withheld instead.
    static func redact(_ message: String, conninfo: String) -> String {
        var text = message
        for secret in candidates(in: conninfo).sorted(by: { $0.count > $1.count }) where text.contains(secret) {
            if secret.count < 4 { return "(libpq's message withheld: it could show the password)" }
            text = text.replacing(secret, with: "***")
        }
        return text
    }

    static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return nil }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// libpq's messages end in a newline and may span lines (one per host tried): one line, trimmed.
    static func oneLine(_ message: String) -> String {
        func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" }
        return message.split(whereSeparator: \.isNewline)
            .map { line -> Substring in
                let start = line.firstIndex { !isBlank($0) } ?? line.endIndex
                let end = line.lastIndex { !isBlank($0) }.map { line.index(after: $0) } ?? start
                return line[start..<max(start, end)]
            }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }
}
