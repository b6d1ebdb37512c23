import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit
import NHIInventory
import NHIReports
import NHIScan
import NHIOutput
#if canImport(Glibc)
import Glibc
#endif

/// `nhi report html` and `nhi report controls`: what auditors hold in their hands.
extension ReportCommands {
    package static var auditor: [CommandSpec] { [html, controls] }

    package static let html = CommandSpec(
        ["report", "html"], abstract: "Write a self-contained HTML report for auditors (charts, findings, owners, offboarding).",
        discussion: "One file with inline CSS and SVG and no script: it opens offline and prints. Findings, owners and offboarding rows are listed in full up to --max-rows each, with the totals stated.",
        options: [OptionSpec("out", value: "FILE", help: "Where to write the page ('-' for standard output).", required: true),
                  OptionSpec("max-rows", value: "N", help: "Rows per table before the page states the total and stops listing (default 5000)."),
                  OptionSpec("no-verify", help: "Show the audit chain's head without verifying the chain (verification reads every entry).")],
        examples: ["nhi report html --out inventory.html --as-of 2026-06-30"]) { inv in
        let out = inv.value("out")!
        var maxRows = HTMLReport.defaultMaxRows
        if let text = inv.value("max-rows") {
            guard let n = Int(text), n > 0, n <= 1_000_000 else { throw NHIError.data("--max-rows must be a whole number from 1 to 1000000, not '\(Redaction.printable(text))'") }
            maxRows = n
        }
        let asOf = try inv.asOf()
        let now = try inv.currentTime()
        let policy = try inv.policyGate()
        let report = try inv.read { db in
            try HTMLReport.build(db, asOf: asOf, generatedAt: now, storePath: inv.dbShown, policy: policy,
                                 policyPath: inv.policyPath, maxRows: maxRows, verifyAudit: !inv.flag("no-verify"))
        }
        let page = report.render()
        if out == "-" {
            inv.out.write(page)
        } else {
            try FileOutput.writeAtomically(page, to: out)
            inv.out.line("wrote \(Redaction.printable(path: out)): \(report.findingsTotal) findings on \(report.flaggedTokens) of \(report.tokensActive) active tokens, as of \(Time.iso(asOf))")
        }
        return .success
    }

    package static let controls = CommandSpec(
        ["report", "controls"], abstract: "One row per framework control: the states that evidence it and how many tokens fail it.",
        discussion: "Controls come from OWASP NHI Top 10 (2025), OWASP Top 10 for Agentic Applications (2026), NIST AI RMF 1.0 and NIST CSF 2.0 (see Docs/controls.md). A token fails a control when it is in a state, or breaks a policy rule, that evidences it.",
        formats: CommandSpec.listFormats,
        examples: ["nhi report controls", "nhi report controls --format csv --as-of 2026-06-30 --policy policy.json"]) { inv in
        let asOf = try inv.asOf()
        let policy = try inv.policyGate()
        let rows = try inv.read { db in try Reports.controls(db, asOf: asOf, policy: policy) }
        let columns = [Column("framework"), Column("control"), Column("title"), Column("function"),
                       Column("evidenced_by", "EVIDENCED BY"), Column("failing_tokens", "FAILING")]
        let writer = RecordWriter(format: inv.format, columns: columns, sink: inv.out, colour: inv.colour)
        for row in rows {
            let title = inv.format == "table" ? row.control.shortTitle : row.control.title
            writer.write(["framework": .string(row.control.framework.rawValue), "control": .string(row.control.id),
                          "title": .string(title), "function": row.control.function.map { .string($0) } ?? .null,
                          "evidenced_by": .array(row.subjects.map { .string($0) }),
                          "failing_tokens": .int(Int64(row.failingTokens))])
        }
        try writer.finish(emptyMessage: "no controls")
        return .success
    }
}

/// Writes a whole file or nothing: a temporary file next to it, written, synced and closed (each checked), then
/// renamed into place. A target that is not a regular file (a device such as /dev/stdout or /dev/full, a FIFO) is
/// written in place: renaming over it would replace the device with a file.
package enum FileOutput {
    /// Appends `text` (GitHub's step summary file is shared by the job's steps).
    package static func append(_ text: String, to path: String) throws(NHIError) {
        let fd = open(path, O_CREAT | O_APPEND | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw unopenable(path, errno) }
        var failed = write(text, to: fd)
        if close(fd) != 0 && failed == 0 { failed = errno }
        if failed != 0 { throw failure(path, failed) }
    }

    package static func writeAtomically(_ text: String, to path: String) throws(NHIError) {
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw unopenable(path, errno) }
            var failed = write(text, to: fd)
            if close(fd) != 0 && failed == 0 { failed = errno }
            if failed != 0 { throw failure(path, failed) }
            return
        }
        let temporary = path + ".nhi-tmp-\(getpid())"
        let fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw unopenable(path, errno) }
        var failed = write(text, to: fd)
        // The bytes on disk before the name points at them: a crash or a full disk never leaves a truncated page.
        if failed == 0 && fsync(fd) != 0 { failed = errno }
        if close(fd) != 0 && failed == 0 { failed = errno }
        if failed == 0 && rename(temporary, path) != 0 { failed = errno }
        if failed != 0 {
            unlink(temporary)
            throw failure(path, failed)
        }
    }

    /// Writes all of `text`; the errno of the first failed write, or 0.
    private static func write(_ text: String, to fd: Int32) -> Int32 {
        var utf8 = text
        return utf8.withUTF8 { Descriptor.writeAll(fd, UnsafeRawBufferPointer($0)) } ?? 0
    }

    /// Exit 3: the path given cannot be created (no such directory, no permission): the user's value is wrong.
    private static func unopenable(_ path: String, _ code: Int32) -> NHIError {
        .data("cannot write \(Redaction.printable(path: path)): \(OutputSink.describe(code))")
    }

    /// Exit 4, as for standard output: the file was opened but the page could not be written out (a full disk).
    private static func failure(_ path: String, _ code: Int32) -> NHIError {
        .store("cannot write \(Redaction.printable(path: path)): \(OutputSink.describe(code))")
    }
}
