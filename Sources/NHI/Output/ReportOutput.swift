/// The token reports (rotation-due, review-due, expiring, offboarding) in every list format, written row by row
/// as bytes in the order and form `RecordWriter` gives `Reports.Row.record` (tests hold the two equal), without a
/// `JSONObject` per row or, for tables, every row's cells held to size the columns: the widths are measured in a
/// first pass over the compact rows.
enum ReportOutput {
    static func write(_ rows: Reports.RowList, format: String, dateKey: String, dateHeader: String, asOf: Instant,
                      sink: OutputSink, colour: Bool, emptyMessage: String?) {
        let columns = Reports.Row.columns(dateKey: dateKey, dateHeader: dateHeader)
        var out = OutputBytes(capacity: 1 << 16)
        func flush() { if out.count >= 1 << 15 { sink.write(&out) } }
        switch format {
        case "json", "ndjson":
            let json = format == "json"
            for (i, row) in rows.enumerated() {
                if json { out.append(i == 0 ? "[\n  " : ",\n  ") }
                record(row, dateKey: dateKey, asOf: asOf, into: &out)
                if !json { out.append("\n") }
                flush()
            }
            if json { out.append(rows.isEmpty ? "[]\n" : "\n]\n") }
        case "csv":
            out.append(CSVWriter.line(columns.map(\.key)))
            for row in rows {
                out.csvText(row.tokenID); out.append(",")
                out.csvText(row.ownerID); out.append(",")
                out.csvText(row.agentID); out.append(",")
                out.csvText(row.system); out.append(",")
                out.csvText(row.status.joined(separator: ",")); out.append(",")
                if let date = row.date { out.csvText(Time.iso(date)) }
                out.append(",")
                if let date = row.date { out.int(Reports.days(from: asOf, to: date)) }
                out.append(",")
                out.csvText(row.reason)
                out.append("\n")
                flush()
            }
        default:
            if rows.isEmpty, let emptyMessage { return sink.line(emptyMessage) }
            var widths = columns.map { Render.width($0.header) }
            var cells: [String] = []
            cells.reserveCapacity(columns.count)
            for row in rows {
                tableCells(row, asOf: asOf, into: &cells)
                for i in cells.indices { widths[i] = max(widths[i], Render.width(cells[i])) }
            }
            func line(_ cells: [String]) {
                for i in cells.indices {
                    out.append(cells[i])
                    if i < cells.count - 1 {
                        for _ in 0..<(widths[i] - Render.width(cells[i]) + 2) { out.append(UInt8(ascii: " ")) }
                    }
                }
            }
            if colour { out.append("\u{1B}[1m") }
            line(columns.map(\.header))
            if colour { out.append("\u{1B}[0m") }
            out.append("\n")
            for row in rows {
                tableCells(row, asOf: asOf, into: &cells)
                line(cells)
                out.append("\n")
                flush()
            }
        }
        sink.write(&out)
    }

    /// `Reports.Row.record(dateKey:asOf:)` serialised.
    static func record(_ row: Reports.Row, dateKey: String, asOf: Instant, into out: inout OutputBytes) {
        out.append("{")
        out.jsonKey("token", first: true); out.jsonString(row.tokenID)
        out.jsonKey("owner"); out.jsonString(row.ownerID)
        out.jsonKey("agent"); out.jsonString(row.agentID)
        out.jsonKey("system"); out.jsonString(row.system)
        out.jsonKey("environment"); out.jsonString(row.environment)
        out.jsonKey("status"); out.jsonString(row.status.joined(separator: ","))
        out.append(","); out.jsonString(dateKey); out.append(":"); out.jsonInstant(row.date)
        out.jsonKey("days")
        if let date = row.date { out.int(Reports.days(from: asOf, to: date)) } else { out.append("null") }
        out.jsonKey("reason"); out.jsonString(row.reason)
        out.append("}")
    }

    /// The row's table cells, as `Render.display` shows each of the record's values for the columns.
    static func tableCells(_ row: Reports.Row, asOf: Instant, into cells: inout [String]) {
        cells.removeAll(keepingCapacity: true)
        cells.append(Render.display(.string(row.tokenID)))
        cells.append(Render.display(.string(row.ownerID)))
        cells.append(Render.display(.string(row.agentID)))
        cells.append(Render.display(.string(row.system)))
        cells.append(Render.display(.string(row.status.joined(separator: ","))))
        cells.append(row.date.map { Render.display(.string(Time.iso($0))) } ?? "-")
        cells.append(row.date.map { String(Reports.days(from: asOf, to: $0)) } ?? "-")
        cells.append(Render.display(.string(row.reason)))
    }
}
