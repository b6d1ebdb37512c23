import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit
#if canImport(Glibc)
import Glibc
#endif

/// `TokenStates` kept compactly: each appended value is encoded into one byte arena (varint numbers,
/// length-prefixed strings) and read back as an equal `TokenStates` when it is written out. `check` and the due
/// reports must hold every token in a state before writing (output is grouped by kind, or sorted by date, while
/// `StateQuery` streams in id order); at a million tokens a `TokenStates` or a row of strings per token was over
/// 150 MB, this is about 70 bytes per token, in 1 MiB chunks (a growing array would copy, and briefly double,
/// the whole arena). Owner ids, systems and environments, which many tokens share, are kept once (`SharedTexts`)
/// and a record holds their index; instants and intervals that fall on a day boundary are kept in days.
///
/// Only the fields `StateQuery` fills with `fullTokens = false` are kept (the brief columns); the rest of the
/// `Token` is left as that query leaves it.
package struct TokenStatesArena {
    private var chunks: [[UInt8]] = []
    private var shared = SharedTexts()
    /// One value's encoding, reused so appending allocates nothing.
    private var scratch: [UInt8] = []
    private static let chunkBits = 20
    private static let chunkSize = 1 << chunkBits
    /// Every value's handle, in append order.
    package private(set) var handles: [Handle] = []
    package var count: Int { handles.count }

    /// A value's position: chunk index and offset. Handles increase in append order.
    package typealias Handle = UInt32

    // Presence bits for optional fields.
    private static let hasExpires: UInt32 = 1 << 0, hasRotated: UInt32 = 1 << 1, hasReviewed: UInt32 = 1 << 2
    private static let hasUsed: UInt32 = 1 << 3, hasDeparted: UInt32 = 1 << 4, hasDecommissioned: UInt32 = 1 << 5
    private static let hasForeignAt: UInt32 = 1 << 6, hasEnvironment: UInt32 = 1 << 7, hasOwnerStatus: UInt32 = 1 << 8
    private static let hasAgentStatus: UInt32 = 1 << 9, hasForeignAgent: UInt32 = 1 << 10
    private static let hasAgentOwner: UInt32 = 1 << 11, hasAgentOwnerDeparted: UInt32 = 1 << 12, hasSystemGap: UInt32 = 1 << 13
    private static let hasScopeCreep: UInt32 = 1 << 14, hasHumanUse: UInt32 = 1 << 15

    private static let allStates = DerivedState.allCases

    /// Status words stored as one byte; any other text is stored as a string after a 0.
    private static let words = ["active", "departed", "decommissioned", "revoked"]

    /// Room for `count` handles (the records' chunks are allocated as they fill).
    package mutating func reserveCapacity(_ count: Int) { handles.reserveCapacity(count) }

    @discardableResult
    package mutating func append(_ ts: TokenStates) -> Handle {
        let t = ts.token
        return append(TokenFields(id: t.id, ownerID: t.ownerID, agentID: t.agentID, system: t.system, environment: t.environment,
                                  status: t.status, issuedAt: t.issuedAt, expiresAt: t.expiresAt, rotateEvery: t.rotateEvery,
                                  lastRotatedAt: t.lastRotatedAt, reviewEvery: t.reviewEvery, lastReviewedAt: t.lastReviewedAt,
                                  lastUsedAt: t.lastUsedAt),
                      states: ts.states.map { Self.allStates.firstIndex(of: $0)! }, ownerStatus: ts.ownerStatus,
                      ownerDepartedAt: ts.ownerDepartedAt, agentStatus: ts.agentStatus,
                      agentDecommissionedAt: ts.agentDecommissionedAt, foreignAgent: ts.foreignAgent, foreignUseAt: ts.foreignUseAt,
                      agentOwnerID: ts.agentOwnerID, agentOwnerDepartedAt: ts.agentOwnerDepartedAt, systemGap: ts.systemGap,
                      scopeCreep: ts.scopeCreep, humanUse: ts.humanUse)
    }

    /// A chosen row of a state scan, straight from its columns: the same bytes as appending its `TokenStates`,
    /// without making the token's Strings first (a million-token `check` appends 374,000 of them).
    @discardableResult
    package mutating func append(_ item: StateQuery.Scanned) -> Handle {
        let row = item.row, c = item.columns
        func text(_ column: TokenColumn) -> ColumnText { ColumnText(row: row, column: c[column]) }
        let environment = row.isNull(c[.environment]) ? nil : text(.environment)
        let f = item.facts
        // A scanned row is active (the scan reads no other).
        let fields = TokenFields(id: text(.id), ownerID: text(.ownerID), agentID: text(.agentID), system: text(.system), environment: environment,
                                 status: "active", issuedAt: f.issuedAt, expiresAt: f.expiresAt, rotateEvery: f.rotateEvery,
                                 lastRotatedAt: f.lastRotatedAt, reviewEvery: f.reviewEvery, lastReviewedAt: f.lastReviewedAt,
                                 lastUsedAt: f.lastUsedAt)
        var states: [Int] = []
        for i in Self.allStates.indices where item.found & (1 << i) != 0 { states.append(i) }
        let owner = item.owner, agent = item.agent
        let departedOwner = agent?.owner.flatMap { $0.status == "departed" ? $0 : nil }
        return append(fields, states: states, ownerStatus: owner?.status, ownerDepartedAt: owner?.since,
                      agentStatus: agent?.status, agentDecommissionedAt: agent?.since,
                      foreignAgent: item.foreign?.latestAgent, foreignUseAt: item.foreign?.latestAt,
                      agentOwnerID: departedOwner?.id, agentOwnerDepartedAt: departedOwner?.since,
                      systemGap: item.found & StateQuery.unaccountableBit != 0 ? item.facts.systemGap : [],
                      scopeCreep: item.found & StateQuery.scopeCreepBit != 0 ? item.creep?.latest : nil,
                      humanUse: item.found & StateQuery.humanUseBit != 0 ? item.human?.latest : nil)
    }

    /// The token columns the arena keeps, their text as Strings or as a row's column bytes.
    package struct TokenFields<Text: ArenaText> {
        package let id: Text, ownerID: Text, agentID: Text, system: Text, environment: Text?
        package let status: String
        package let issuedAt: Instant, expiresAt: Instant?, rotateEvery: Int64, lastRotatedAt: Instant?, reviewEvery: Int64
        package let lastReviewedAt: Instant?, lastUsedAt: Instant?
    }

    /// The one encoding of a value (`subscript` reads it back).
    private mutating func append<Text: ArenaText>(_ t: TokenFields<Text>, states: [Int], ownerStatus: String?,
                                                  ownerDepartedAt: Instant?, agentStatus: String?,
                                                  agentDecommissionedAt: Instant?, foreignAgent: String?,
                                                  foreignUseAt: Instant?, agentOwnerID: String?,
                                                  agentOwnerDepartedAt: Instant?, systemGap: SystemGap,
                                                  scopeCreep: UseEvidence?, humanUse: UseEvidence?) -> Handle {
        var record = Encoder(bytes: scratch)
        scratch = []
        var presence: UInt32 = 0
        if t.expiresAt != nil { presence |= Self.hasExpires }
        if t.lastRotatedAt != nil { presence |= Self.hasRotated }
        if t.lastReviewedAt != nil { presence |= Self.hasReviewed }
        if t.lastUsedAt != nil { presence |= Self.hasUsed }
        if ownerDepartedAt != nil { presence |= Self.hasDeparted }
        if agentDecommissionedAt != nil { presence |= Self.hasDecommissioned }
        if foreignUseAt != nil { presence |= Self.hasForeignAt }
        if t.environment != nil { presence |= Self.hasEnvironment }
        if ownerStatus != nil { presence |= Self.hasOwnerStatus }
        if agentStatus != nil { presence |= Self.hasAgentStatus }
        if foreignAgent != nil { presence |= Self.hasForeignAgent }
        if agentOwnerID != nil { presence |= Self.hasAgentOwner }
        if agentOwnerDepartedAt != nil { presence |= Self.hasAgentOwnerDeparted }
        if !systemGap.isEmpty { presence |= Self.hasSystemGap }
        if scopeCreep != nil { presence |= Self.hasScopeCreep }
        if humanUse != nil { presence |= Self.hasHumanUse }
        // The id first, so `tokenID(_:)` reads it without decoding the rest.
        t.id.write(into: &record)
        // States keep their order (StateQuery lists them in `allCases` order); a mask would lose a different one.
        record.unsigned(UInt64(states.count))
        for s in states { record.unsigned(UInt64(s)) }
        record.unsigned(UInt64(presence))
        record.seconds(t.issuedAt)
        if let v = t.expiresAt { record.seconds(v) }
        record.seconds(t.rotateEvery)
        if let v = t.lastRotatedAt { record.seconds(v) }
        record.seconds(t.reviewEvery)
        if let v = t.lastReviewedAt { record.seconds(v) }
        if let v = t.lastUsedAt { record.seconds(v) }
        if let v = ownerDepartedAt { record.seconds(v) }
        if let v = agentDecommissionedAt { record.seconds(v) }
        if let v = foreignUseAt { record.seconds(v) }
        record.unsigned(UInt64(t.ownerID.index(in: &shared)))
        t.agentID.write(into: &record)
        record.unsigned(UInt64(t.system.index(in: &shared)))
        if let v = t.environment { record.unsigned(UInt64(v.index(in: &shared))) }
        record.word(t.status)
        if let v = ownerStatus { record.word(v) }
        if let v = agentStatus { record.word(v) }
        if let v = foreignAgent { record.string(v) }
        if let v = agentOwnerID { record.string(v) }
        if let v = agentOwnerDepartedAt { record.signed(v) }
        if !systemGap.isEmpty { record.unsigned(UInt64(systemGap.rawValue)) }
        for evidence in [scopeCreep, humanUse] {
            guard let evidence else { continue }
            record.signed(evidence.at)
            record.string(evidence.agent)
            record.string(evidence.detail)
        }
        let handle = store(record.bytes)
        scratch = record.bytes
        scratch.removeAll(keepingCapacity: true)
        return handle
    }

    private mutating func store(_ bytes: [UInt8]) -> Handle {
        precondition(bytes.count <= Self.chunkSize, "a token too large for the arena")
        if chunks.isEmpty || chunks[chunks.count - 1].count + bytes.count > Self.chunkSize {
            precondition(chunks.count < 1 << (32 - Self.chunkBits), "arena full")
            var chunk: [UInt8] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        let last = chunks.count - 1
        let offset = chunks[last].count
        chunks[last].append(contentsOf: bytes)
        let handle = Handle(last << Self.chunkBits | offset)
        handles.append(handle)
        return handle
    }

    /// The value appended at `handle`, equal to the one appended.
    package subscript(handle: Handle) -> TokenStates {
        let (chunk, offset) = Self.position(handle)
        return chunks[chunk].withUnsafeBufferPointer { buffer in
            var d = Decoder(bytes: buffer, at: offset)
            let id = d.string()
            let stateCount = Int(d.unsigned())
            var states: [DerivedState] = []
            states.reserveCapacity(stateCount)
            for _ in 0..<stateCount { states.append(Self.allStates[Int(d.unsigned())]) }
            let presence = UInt32(truncatingIfNeeded: d.unsigned())
            func has(_ bit: UInt32) -> Bool { presence & bit != 0 }
            let issuedAt = d.seconds()
            let expiresAt = has(Self.hasExpires) ? d.seconds() : nil
            let rotateEvery = d.seconds()
            let lastRotatedAt = has(Self.hasRotated) ? d.seconds() : nil
            let reviewEvery = d.seconds()
            let lastReviewedAt = has(Self.hasReviewed) ? d.seconds() : nil
            let lastUsedAt = has(Self.hasUsed) ? d.seconds() : nil
            let departedAt = has(Self.hasDeparted) ? d.seconds() : nil
            let decommissionedAt = has(Self.hasDecommissioned) ? d.seconds() : nil
            let foreignAt = has(Self.hasForeignAt) ? d.seconds() : nil
            let texts = shared.texts
            let ownerID = texts[Int(d.unsigned())], agentID = d.string(), system = texts[Int(d.unsigned())]
            let environment = has(Self.hasEnvironment) ? texts[Int(d.unsigned())] : nil
            let status = d.word(Self.words)
            let ownerStatus = has(Self.hasOwnerStatus) ? d.word(Self.words) : nil
            let agentStatus = has(Self.hasAgentStatus) ? d.word(Self.words) : nil
            let foreignAgent = has(Self.hasForeignAgent) ? d.string() : nil
            let agentOwnerID = has(Self.hasAgentOwner) ? d.string() : nil
            let agentOwnerDepartedAt = has(Self.hasAgentOwnerDeparted) ? d.signed() : nil
            let systemGap = has(Self.hasSystemGap) ? SystemGap(rawValue: UInt8(truncatingIfNeeded: d.unsigned())) : []
            func evidence(_ bit: UInt32) -> UseEvidence? {
                guard has(bit) else { return nil }
                let at = d.signed(), agent = d.string(), detail = d.string()
                return UseEvidence(at: at, agent: agent, detail: detail)
            }
            let scopeCreep = evidence(Self.hasScopeCreep)
            let humanUse = evidence(Self.hasHumanUse)
            // As `Token(row:)` leaves the columns the brief query does not select.
            let token = Token(id: id, ownerID: ownerID, purpose: "", system: system, agentID: agentID,
                              environment: environment, scopes: [], issuedAt: issuedAt, expiresAt: expiresAt,
                              rotateEvery: rotateEvery, lastRotatedAt: lastRotatedAt, reviewEvery: reviewEvery,
                              lastReviewedAt: lastReviewedAt, fingerprint: nil, labels: [:], status: status,
                              revokedAt: nil, revokeReason: nil, lastUsedAt: lastUsedAt, createdAt: 0, updatedAt: 0)
            return TokenStates(token: token, ownerStatus: ownerStatus, ownerDepartedAt: departedAt,
                               agentStatus: agentStatus, agentDecommissionedAt: decommissionedAt,
                               foreignAgent: foreignAgent, foreignUseAt: foreignAt, states: states,
                               agentOwnerID: agentOwnerID, agentOwnerDepartedAt: agentOwnerDepartedAt, systemGap: systemGap,
                               scopeCreep: scopeCreep, humanUse: humanUse)
        }
    }

    /// The token id of the value at `handle`.
    package func tokenID(_ handle: Handle) -> String {
        let (chunk, offset) = Self.position(handle)
        return chunks[chunk].withUnsafeBufferPointer { buffer in
            var d = Decoder(bytes: buffer, at: offset)
            return d.string()
        }
    }

    /// Whether the token id at `a` sorts before the one at `b`, comparing their UTF-8 bytes (the order of
    /// SQLite's BINARY collation; for the ASCII ids nhi accepts, also Swift's `String` order), without making
    /// either id a `String`.
    package func tokenID(_ a: Handle, precedes b: Handle) -> Bool {
        let (ca, oa) = Self.position(a), (cb, ob) = Self.position(b)
        return chunks[ca].withUnsafeBufferPointer { x in
            chunks[cb].withUnsafeBufferPointer { y in
                var dx = Decoder(bytes: x, at: oa), dy = Decoder(bytes: y, at: ob)
                let nx = Int(dx.unsigned()), ny = Int(dy.unsigned())
                let c = memcmp(x.baseAddress! + dx.at, y.baseAddress! + dy.at, min(nx, ny))
                return c != 0 ? c < 0 : nx < ny
            }
        }
    }

    /// Puts `handles` in token id order (a no-op, one comparison per value, when they already are).
    package mutating func sortByTokenID() {
        sortByTokenID(&handles)
    }

    /// Puts handles of this arena in token id order, checking first whether they already are.
    package func sortByTokenID(_ list: inout [Handle]) {
        guard zip(list, list.dropFirst()).contains(where: { !tokenID($0, precedes: $1) }) else { return }
        list.sort { tokenID($0, precedes: $1) }
    }

    private static func position(_ handle: Handle) -> (chunk: Int, offset: Int) {
        (Int(handle >> UInt32(chunkBits)), Int(handle & UInt32(chunkSize - 1)))
    }


    package struct Encoder {
        package var bytes: [UInt8]
        package init(bytes: [UInt8]) { self.bytes = bytes; self.bytes.reserveCapacity(256) }

        package mutating func unsigned(_ value: UInt64) {
            var v = value
            while v >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }

        package mutating func signed(_ value: Int64) { unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

        /// An instant or interval in seconds: in days when it falls on a day boundary (most expiry, use and
        /// interval values: 3 bytes instead of 5, 2 instead of 4), tagged by the lowest bit.
        package mutating func seconds(_ value: Int64) {
            if value % 86_400 == 0 {
                let days = value / 86_400
                unsigned(UInt64(bitPattern: (days << 1) ^ (days >> 63)) << 1)
            } else if value.magnitude < 1 << 62 {
                unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)) << 1 | 1)
            } else {
                // Too large for the tag bit (an edited store): a lone tag (0 s, which takes the day form) then the value.
                unsigned(1)
                signed(value)
            }
        }

        package mutating func string(_ value: String) {
            unsigned(UInt64(value.utf8.count))
            bytes.append(contentsOf: value.utf8)
        }

        package mutating func string(bytes value: UnsafeRawBufferPointer) {
            unsigned(UInt64(value.count))
            bytes.append(contentsOf: value)
        }

        package mutating func word(_ value: String) {
            if let i = TokenStatesArena.words.firstIndex(of: value) {
                bytes.append(UInt8(i + 1))
            } else {
                bytes.append(0)
                string(value)
            }
        }
    }

    private struct Decoder {
        package let bytes: UnsafeBufferPointer<UInt8>
        package var at: Int
        package init(bytes: UnsafeBufferPointer<UInt8>, at: Int) { self.bytes = bytes; self.at = at }

        package mutating func unsigned() -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                let b = bytes[at]
                at += 1
                value |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return value }
                shift += 7
            }
        }

        package mutating func signed() -> Int64 {
            Self.unzigzag(unsigned())
        }

        private static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

        package mutating func seconds() -> Int64 {
            let v = unsigned()
            if v & 1 == 0 { return Self.unzigzag(v >> 1) * 86_400 }
            return v == 1 ? signed() : Self.unzigzag(v >> 1)
        }

        package mutating func string() -> String {
            let n = Int(unsigned())
            defer { at += n }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[at..<(at + n)]), as: UTF8.self)
        }

        package mutating func word(_ words: [String]) -> String {
            let code = bytes[at]
            at += 1
            return code == 0 ? string() : words[Int(code) - 1]
        }
    }
}

/// Text the arena stores as a length-prefixed string, or as its index among the texts kept once.
package protocol ArenaText {
    func write(into record: inout TokenStatesArena.Encoder)
    func index(in shared: inout SharedTexts) -> Int
}

extension String: ArenaText {
    package func write(into record: inout TokenStatesArena.Encoder) { record.string(self) }
    package func index(in shared: inout SharedTexts) -> Int { shared.index(self) }
}

/// Texts that many tokens share (owner ids, systems, environments), each kept once and numbered in the order met.
/// Agent ids are not: there are about as many agents as a token's record would save bytes on them.
package struct SharedTexts: Sendable {
    private var numbers = IDMap()
    /// By number; 0 is the empty text (which `IDMap` does not hold).
    package private(set) var texts: [String] = [""]

    package mutating func index(_ text: String) -> Int {
        if text.isEmpty { return 0 }
        if let n = numbers.value(text) { return n }
        numbers.set(text, texts.count)
        texts.append(text)
        return texts.count - 1
    }

    /// The number of the row's text column (NULL as the empty text), without making a String of a short text
    /// already numbered.
    package mutating func index(_ row: Cursor, _ column: Int32) -> Int {
        numbers.value(row, column) ?? index(row.string(column))
    }
}

/// A text column of the row a scan is on, copied as bytes.
package struct ColumnText: ArenaText {
    package let row: Cursor
    package let column: Int32
    package func write(into record: inout TokenStatesArena.Encoder) {
        if row.withBytes(column, { record.string(bytes: $0) }) == nil { record.string("") }
    }
    package func index(in shared: inout SharedTexts) -> Int { shared.index(row, column) }
}
