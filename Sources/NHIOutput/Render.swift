import NHIBasics
import NHIFormats
import NHIModel
import NHIRules
import NHIReports
import NHIScan


/// Writes records as table, json, csv or ndjson. Machine formats stream (a million-row export never sits in
/// memory); a table must see every row to size its columns.
public final class RecordWriter {
    package let format: String
    package let columns: [Column]
    package let sink: OutputSink
    package let colour: Bool
    private var count = 0
    private var tableRows: [[String]] = []

    public init(format: String, columns: [Column], sink: OutputSink, colour: Bool = false) {
        self.format = format
        self.columns = columns
        self.sink = sink
        self.colour = colour
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
            tableRows.append(columns.map { TableText.display(record[$0.key]) })
        }
        count += 1
    }

    public func finish(emptyMessage: String? = nil) {
        switch format {
        case "json": sink.write(count == 0 ? "[]\n" : "\n]\n")
        case "ndjson", "csv": break
        default:
            if tableRows.isEmpty, let emptyMessage {
                sink.line(emptyMessage)
            } else {
                Render.table(headers: columns.map(\.header), rows: tableRows, colour: colour) { sink.write($0) }
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

    public static func table(headers: [String], rows: [[String]], colour: Bool) -> String {
        var out = ""
        table(headers: headers, rows: rows, colour: colour) { out += $0 }
        return out
    }

    /// The table line by line (a report of a million tokens is written out as it is formatted, never held as one
    /// string besides its rows).
    public static func table(headers: [String], rows: [[String]], colour: Bool, emit: (String) -> Void) {
        var widths = headers.map(TableText.width)
        // Each cell's width is computed once (counting characters is a walk over the string).
        let cellWidths = rows.map { row in row.map(TableText.width) }
        for row in cellWidths { for (i, w) in row.enumerated() { widths[i] = max(widths[i], w) } }
        func line(_ cells: [String], _ cellWidth: [Int]) -> String {
            var text = ""
            for i in cells.indices {
                text += cells[i]
                if i < cells.count - 1 { text += String(repeating: " ", count: widths[i] - cellWidth[i] + 2) }
            }
            return text
        }
        let header = line(headers, headers.map(TableText.width))
        emit((colour ? "\u{1B}[1m" + header + "\u{1B}[0m" : header) + "\n")
        for (row, rowWidths) in zip(rows, cellWidths) { emit(line(row, rowWidths) + "\n") }
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
