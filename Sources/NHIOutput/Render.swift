import NHIBasics
import NHIFormats
import NHIModel
import NHIRules
import NHIReports
import NHIScan


/// Writes records as table, json, csv or ndjson. Machine formats stream (a million-row export never sits in
/// memory); a table must see every row to size its columns, so its cells go to a `TableSpool`.
public final class RecordWriter {
    package let format: String
    package let columns: [Column]
    package let sink: OutputSink
    package let colour: Bool
    private var count = 0
    private let table: TableSpool?

    public convenience init(format: String, columns: [Column], sink: OutputSink, colour: Bool = false) {
        self.init(format: format, columns: columns, sink: sink, colour: colour, tableMemoryLimit: TableSpool.defaultMemoryLimit)
    }

    /// `tableMemoryLimit`: the table's bytes of cells kept in memory before it spools to a temporary file.
    package init(format: String, columns: [Column], sink: OutputSink, colour: Bool, tableMemoryLimit: Int) {
        self.format = format
        self.columns = columns
        self.sink = sink
        self.colour = colour
        let isTable = !["json", "ndjson", "csv"].contains(format)
        table = isTable ? TableSpool(headers: columns.map(\.header), memoryLimit: tableMemoryLimit) : nil
        if format == "csv" { sink.write(CSVWriter.line(columns.map(\.key))) }
    }

    public func write(_ record: JSONObject) {
        switch format {
        case "json":
            sink.write(count == 0 ? "[\n  " : ",\n  ")
            sink.write(JSON.object(record).serialized())
        case "ndjson":
            sink.write(JSON.object(record).serialized())
            sink.write("\n")
        case "csv":
            sink.write(CSVWriter.line(columns.map { Render.csvCell(record[$0.key]) }))
        default:
            for column in columns { table?.add(TableText.display(record[column.key])) }
        }
        count += 1
    }

    /// Throws when a table's spooled rows could not be written or read back (`TableSpool.finish`).
    public func finish(emptyMessage: String? = nil) throws {
        switch format {
        case "json": sink.write(count == 0 ? "[]\n" : "\n]\n")
        case "ndjson", "csv": break
        default:
            guard let table else { return }
            if table.rowCount == 0, let emptyMessage {
                sink.line(emptyMessage)
            } else {
                try table.finish(colour: colour, to: sink)
            }
        }
    }
}

public enum Render {
    /// One record shown vertically (`show` commands in table format); machine formats as for lists.
    public static func show(_ record: JSONObject, format: String, sink: OutputSink) {
        switch format {
        case "json": sink.line(JSON.object(record).serialized(pretty: true))
        case "ndjson": sink.line(JSON.object(record).serialized())
        case "csv":
            sink.write(CSVWriter.line(record.keys))
            sink.write(CSVWriter.line(record.keys.map { csvCell(record[$0]) }))
        default:
            let width = (record.keys.map(\.count).max() ?? 0) + 1
            for key in record.keys {
                sink.line(key + ":" + String(repeating: " ", count: width - key.count) + " " + TableText.display(record[key]))
            }
        }
    }

    /// A table of rows already in memory, laid out by `TableSpool` (kept in memory: it never spools, so it
    /// cannot fail).
    public static func table(headers: [String], rows: [[String]], colour: Bool) -> String {
        let spool = TableSpool(headers: headers, memoryLimit: .max)
        for row in rows { spool.add(row: row) }
        let sink = OutputSink()
        spool.finishInMemory(colour: colour, to: sink)
        return sink.captured
    }

    /// A CSV cell: strings neutralised against spreadsheet formulas, lists comma-joined, objects as JSON.
    public static func csvCell(_ value: JSON?) -> String {
        guard let value else { return "" }
        switch value {
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return CSVFormula.neutralise(s)
        case .array(let items): return CSVFormula.neutralise(items.map { $0.stringValue ?? $0.serialized() }.joined(separator: ","))
        case .object: return CSVFormula.neutralise(value.serialized(sortedKeys: true))
        }
    }
}
