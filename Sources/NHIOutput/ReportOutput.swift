import NHIBasics
import NHIFormats
import NHIModel
import NHIRules
import NHIReports
import NHIScan

/// The token reports (rotation-due, review-due, expiring, offboarding) in every list format, written row by row
/// as bytes in the order and form `RecordWriter` gives `Reports.Row.record` (tests hold the two equal), without a
/// `JSONObject` per row or, for tables, every row's cells held to size the columns: the widths are measured in a
/// first pass over the compact rows.
package enum ReportOutput {
    /// `measured`: the table's widths, when the caller measured every row as the report found them
    /// (`Reports.rotationDue(..., observe:)`); otherwise a first pass over the rows measures them.
    package static func write(_ rows: Reports.RowList, format: String, dateKey: String, dateHeader: String, asOf: Instant,
                      sink: OutputSink, colour: Bool, emptyMessage: String?, measured: TableWidths? = nil) {
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
                if let env = row.environment { out.csvText(env) }
                out.append(",")
                out.csvText(row.status.joined(separator: ",")); out.append(",")
                if let date = row.date { out.csvText(Time.iso(date)) }
                out.append(",")
                if let date = row.date { out.int(Reports.Row.days(date, dateKey: dateKey, asOf: asOf)) }
                out.append(",")
                if let waived = row.waived { out.csvText(waived) }
                out.append(",")
                out.csvText(row.reason)
                out.append("\n")
                flush()
            }
        default:
            if rows.isEmpty, let emptyMessage { return sink.line(emptyMessage) }
            // Two passes over the compact rows: the widths, then the lines. Text cells are measured as
            // `Render.display` shows them; dates and days are measured and written from the numbers.
            var widths: [Int]
            if let measured { widths = measured.widths } else {
                var measure = TableWidths(columns: columns, dateKey: dateKey, asOf: asOf)
                for row in rows { measure.add(row) }
                widths = measure.widths
            }
            func pad(_ position: Reports.Row.Position, _ width: Int) {
                TableSpool.pad(to: widths[position.rawValue], from: width, into: &out)
            }
            func text(_ position: Reports.Row.Position, _ value: String?) {
                let shown = TableText.display(value.map(JSON.string) ?? .null)
                out.append(shown)
                pad(position, TableText.width(shown))
            }
            TableSpool.header(columns.map(\.header), widths: widths, colour: colour, into: &out)
            for row in rows {
                text(.token, row.tokenID); text(.owner, row.ownerID); text(.agent, row.agentID); text(.system, row.system)
                text(.environment, row.environment ?? "")
                text(.status, row.status.count == 1 ? row.status[0] : row.status.joined(separator: ","))
                if let date = row.date {
                    pad(.date, tableDate(date, into: &out))
                    let days = Reports.Row.days(date, dateKey: dateKey, asOf: asOf)
                    out.int(days)
                    pad(.days, digits(days))
                } else {
                    out.append("-"); pad(.date, 1)
                    out.append("-"); pad(.days, 1)
                }
                text(.waived, row.waived)
                out.append(TableText.display(.string(row.reason)))
                out.append("\n")
                flush()
            }
        }
        sink.write(&out)
    }

    /// The widths of a report table's columns, as `TableSpool` sizes them: the header's and each row's cells
    /// (all but the last, which the layout never pads).
    package struct TableWidths {
        package private(set) var widths: [Int]
        package let asOf: Instant
        package let dateKey: String

        package init(columns: [Column], dateKey: String, asOf: Instant) {
            widths = columns.map { TableText.width($0.header) }
            self.asOf = asOf
            self.dateKey = dateKey
        }

        package mutating func add(_ row: Reports.Row) {
            func widen(_ position: Reports.Row.Position, _ width: Int) {
                widths[position.rawValue] = max(widths[position.rawValue], width)
            }
            widen(.token, ReportOutput.textWidth(row.tokenID))
            widen(.owner, ReportOutput.textWidth(row.ownerID))
            widen(.agent, ReportOutput.textWidth(row.agentID))
            widen(.system, ReportOutput.textWidth(row.system))
            widen(.environment, ReportOutput.textWidth(row.environment ?? ""))
            widen(.status, ReportOutput.textWidth(row.status.count == 1 ? row.status[0] : row.status.joined(separator: ",")))
            widen(.date, ReportOutput.dateWidth(row.date))
            widen(.days, row.date.map { ReportOutput.digits(Reports.Row.days($0, dateKey: dateKey, asOf: asOf)) } ?? 1)
            widen(.waived, row.waived.map(ReportOutput.textWidth) ?? 1)
            // The reason is the last column: written unpadded, so its width is never used (and `observe` leaves it
            // empty).
        }
    }

    /// `Reports.Row.record(dateKey:asOf:)` serialised.
    package static func record(_ row: Reports.Row, dateKey: String, asOf: Instant, into out: inout OutputBytes) {
        out.append("{")
        out.jsonKey("token", first: true); out.jsonString(row.tokenID)
        out.jsonKey("owner"); out.jsonString(row.ownerID)
        out.jsonKey("agent"); out.jsonString(row.agentID)
        out.jsonKey("system"); out.jsonString(row.system)
        out.jsonKey("environment"); out.jsonString(row.environment)
        out.jsonKey("status"); out.jsonString(row.status.joined(separator: ","))
        out.append(","); out.jsonString(dateKey); out.append(":"); out.jsonInstant(row.date)
        out.jsonKey("days")
        if let date = row.date { out.int(Reports.Row.days(date, dateKey: dateKey, asOf: asOf)) } else { out.append("null") }
        out.jsonKey("waived"); out.jsonString(row.waived)
        out.jsonKey("reason"); out.jsonString(row.reason)
        out.append("}")
    }

    /// The width of a text cell as `Render.display` shows it.
    package static func textWidth(_ value: String) -> Int { TableText.width(TableText.display(.string(value))) }

    /// Characters of an integer written in decimal.
    package static func digits(_ value: Int64) -> Int {
        var n = value < 0 ? 2 : 1, v = value.magnitude
        while v >= 10 { v /= 10; n += 1 }
        return n
    }

    /// How a table shows an instant (`Render.display` of its ISO text): the day, and the minute when not midnight.
    /// Returns the width written.
    @discardableResult
    package static func tableDate(_ t: Instant, into out: inout OutputBytes) -> Int {
        guard let parts = Time.Parts(t) else {
            let shown = TableText.display(.string(Time.iso(t)))
            out.append(shown)
            return TableText.width(shown)
        }
        parts.write(parts.seconds == 0 ? .day : .minute) { out.append($0) }
        return parts.seconds == 0 ? 10 : 17
    }

    package static func dateWidth(_ t: Instant?) -> Int {
        guard let t else { return 1 }
        if let parts = Time.Parts(t) { return parts.seconds == 0 ? 10 : 17 }
        var scratch = OutputBytes(capacity: 0)
        return tableDate(t, into: &scratch)
    }
}
