/// A parameter sent with a statement (`$1`, `$2`, ...). Values travel beside the SQL (PQexecParams), never inside
/// it. The cases mirror the SQLite store's `SQLValue` (null, int, double, text), plus bool and bytes.
public enum PGValue: Sendable, Hashable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case bool(Bool)
    case bytes([UInt8])
}

extension PGValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension PGValue {
    /// A float8 as PostgreSQL reads it: the shortest text that reads back as the same Double, or NaN, Infinity.
    static func text(of v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
        return "\(v)"
    }
}

/// Well-known type OIDs (pg_type.dat); fixed since PostgreSQL 7.
enum PGType {
    static let unknown: UInt32 = 0  // the server infers it from context, as for a quoted literal
    static let bool: UInt32 = 16
    static let bytea: UInt32 = 17
    static let int8: UInt32 = 20
    static let float8: UInt32 = 701
}

/// Parameters laid out the way PQexecParams wants them: one buffer, pointers into it, types, lengths, formats.
/// Text goes as type "unknown" (the server infers the column's type, so a text parameter can fill a
/// timestamptz or jsonb column); numbers and booleans carry their type; bytes go in binary format.
struct PGParameters {
    let count: Int32
    private var buffer: [UInt8] = []
    private var offsets: [Int?] = []  // nil: SQL NULL
    private(set) var types: [UInt32] = []
    private(set) var lengths: [Int32] = []
    private(set) var formats: [Int32] = []

    init(_ values: [PGValue], sql: String) throws(PGError) {
        count = Int32(values.count)
        for (index, value) in values.enumerated() {
            switch value {
            case .null:
                append(nil, type: PGType.unknown)
            case .int(let v):
                append(Array(String(v).utf8), type: PGType.int8)
            case .double(let v):
                append(Array(PGValue.text(of: v).utf8), type: PGType.float8)
            case .bool(let v):
                append(v ? [UInt8(ascii: "t")] : [UInt8(ascii: "f")], type: PGType.bool)
            case .text(let v):
                let bytes = Array(v.utf8)
                // Text parameters are NUL-terminated C strings: a NUL would silently cut the value short,
                // and PostgreSQL's text cannot hold one anyway.
                if bytes.contains(0) {
                    throw PGError(kind: .misuse, message: "text parameter $\(index + 1) contains a NUL character, "
                        + "which PostgreSQL text cannot store (send it as .bytes)", sql: sql)
                }
                append(bytes, type: PGType.unknown)
            case .bytes(let v):
                append(v, type: PGType.bytea, binary: true)
            }
        }
    }

    private mutating func append(_ bytes: [UInt8]?, type: UInt32, binary: Bool = false) {
        types.append(type)
        formats.append(binary ? 1 : 0)
        guard let bytes else {
            offsets.append(nil)
            lengths.append(0)
            return
        }
        offsets.append(buffer.count)
        lengths.append(Int32(bytes.count))
        buffer.append(contentsOf: bytes)
        buffer.append(0)
    }

    /// Calls `body` with the C arrays; the pointers are valid only inside it.
    func withUnsafeArrays<R>(
        _ body: (
            _ types: UnsafePointer<UInt32>?, _ values: UnsafePointer<UnsafePointer<CChar>?>?,
            _ lengths: UnsafePointer<Int32>?, _ formats: UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        buffer.withUnsafeBufferPointer { raw in
            let base = UnsafeRawPointer(raw.baseAddress)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                guard let offset, let base else { return nil }
                return (base + offset).assumingMemoryBound(to: CChar.self)
            }
            return pointers.withUnsafeBufferPointer { values in
                types.withUnsafeBufferPointer { types in
                    lengths.withUnsafeBufferPointer { lengths in
                        formats.withUnsafeBufferPointer { formats in
                            body(types.baseAddress, values.baseAddress, lengths.baseAddress, formats.baseAddress)
                        }
                    }
                }
            }
        }
    }
}
