import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit
#if canImport(Glibc)
import Glibc
#endif

/// Turns an import file (CSV, JSON array or ndjson) into `ImportRecord`s, streaming where the format allows.
/// Problems with the file's shape (a bad header, a row of the wrong width, malformed JSON) go to `problem`;
/// a CSV syntax error ends the reading, since no later row can be located with confidence.
public enum RecordSource {
    public static func format(forPath path: String) -> String {
        if path.hasSuffix(".ndjson") || path.hasSuffix(".jsonl") { return "ndjson" }
        if path.hasSuffix(".json") { return "json" }
        return "csv"
    }

    /// Fails early (exit 3) when the file cannot be opened, before any store is touched.
    public static func checkReadable(_ path: String) throws(NHIError) {
        if let refusal = FileText.refusalToWait(path, what: "import file") { throw .data(refusal) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .data("cannot open import file '\(Redaction.printable(path: path))': \(String(cString: strerror(errno)))") }
        var info = stat()
        let isFile = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        close(fd)
        guard isFile else { throw .data("import file '\(Redaction.printable(path: path))' is not a regular file") }
    }

    public static func read(_ path: String, format: String, record: (ImportRecord) throws -> Void,
                            problem: (ImportProblem) throws -> Void) throws {
        switch format {
        case "json": try readJSON(path, record: record, problem: problem)
        case "ndjson": try readNDJSON(path, record: record, problem: problem)
        default: try readCSV(path, record: record, problem: problem)
        }
    }

    package static func readCSV(_ path: String, record: (ImportRecord) throws -> Void, problem: (ImportProblem) throws -> Void) throws {
        var reader: CSVReader
        do { reader = try CSVReader(path: path) } catch { throw NHIError.data("cannot read import file '\(Redaction.printable(path: path))': \(error.message)") }
        do {
            guard let header = try reader.next() else {
                throw NHIError.data("import file '\(Redaction.printable(path: path))' is empty: a CSV import starts with a header row (see Docs/import-export.md)")
            }
            var columns: [String: Int] = [:]
            var known: [(index: Int, name: String)] = []
            for (i, name) in header.fields.enumerated() {
                let location = "column \(i + 1) (\(Redaction.printable(name)))"
                if !ExchangeShape.allKeys.contains(name) {
                    try problem(ImportProblem(line: header.line, location: location, message: "unknown column '\(Redaction.printable(name))' (columns: \(ExchangeShape.columns(for: ExchangeShape.kinds).joined(separator: ", ")))"))
                } else if columns[name] != nil {
                    try problem(ImportProblem(line: header.line, location: location, message: "column '\(Redaction.printable(name))' appears twice"))
                } else {
                    columns[name] = i + 1
                    known.append((i, name))
                }
            }
            let width = header.fields.count
            while let row = try reader.next() {
                guard row.fields.count == width else {
                    try problem(ImportProblem(line: row.line, location: nil, message: "row has \(row.fields.count) fields; the header has \(width)"))
                    continue
                }
                // An empty cell is no value: it is left out, which every reader of a record takes as it takes null
                // (a whole-inventory CSV leaves most of each row's columns empty; fewer keys, less hashing).
                var fields: [String: JSON] = [:]
                fields.reserveCapacity(known.count)
                for (index, name) in known where !row.fields[index].isEmpty {
                    fields[name] = .string(CSVFormula.restore(row.fields[index]))
                }
                try record(ImportRecord(line: row.line, fields: fields, csvColumns: columns))
            }
        } catch let error as CSVError {
            try problem(ImportProblem(line: error.line, location: nil, message: "malformed CSV: \(error.message) (reading stopped here)"))
        }
    }

    package static func readNDJSON(_ path: String, record: (ImportRecord) throws -> Void, problem: (ImportProblem) throws -> Void) throws {
        var reader: LineReader
        do { reader = try LineReader(path: path) } catch { throw NHIError.data("cannot read import file '\(Redaction.printable(path: path))': \(error.message)") }
        while let (parsed, line) = reader.withNextLine({ bytes, line -> (Result<JSON, JSONParseError>?, Int) in
            guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return (nil, line) }
            return (Result { () throws(JSONParseError) -> JSON in try JSONParser.parse(bytes: bytes) }, line)
        }) {
            guard let parsed else { continue }
            switch parsed {
            case .failure(let error):
                try problem(ImportProblem(line: line, location: "column \(error.column)", message: "malformed JSON: \(error.message)"))
            case .success(let value):
                guard let object = value.objectValue else {
                    try problem(ImportProblem(line: line, location: nil, message: "each line must be a JSON object, not \(Redaction.printable(value.serialized()))"))
                    continue
                }
                try record(ImportRecord(line: line, fields: fields(of: object)))
            }
        }
        if let error = reader.readError { throw NHIError.data("cannot read import file '\(Redaction.printable(path: path))': \(error.description)") }
    }

    /// A JSON array of records, parsed whole (use ndjson or CSV for very large files).
    package static func readJSON(_ path: String, record: (ImportRecord) throws -> Void, problem: (ImportProblem) throws -> Void) throws {
        let text = try FileText.read(path, what: "import file")
        let root: JSON
        let lines: [String: Int]
        do { (root, lines) = try JSONParser.parseWithLocations(text) } catch {
            try problem(ImportProblem(line: error.line, location: "column \(error.column)", message: "malformed JSON: \(error.message)"))
            return
        }
        guard let items = root.arrayValue else {
            try problem(ImportProblem(line: 1, location: nil, message: "a JSON import is an array of records (as nhi export --format json writes)"))
            return
        }
        for (i, item) in items.enumerated() {
            let line = lines["/\(i)"] ?? 1
            guard let object = item.objectValue else {
                try problem(ImportProblem(line: line, location: nil, message: "record \(i) must be a JSON object"))
                continue
            }
            var rec = ImportRecord(line: line, fields: fields(of: object))
            // Record keys are plain words; one that would need JSON Pointer escaping is reported on the record's line.
            for key in object.keys where !key.contains("~") && !key.contains("/") {
                if let at = lines["/\(i)/\(key)"] { rec.fieldLines[key] = at }
            }
            try record(rec)
        }
    }

    package static func fields(of object: JSONObject) -> [String: JSON] {
        var fields: [String: JSON] = [:]
        for (key, value) in object { fields[key] = value }
        return fields
    }
}
