#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Testing

@testable import NHIBasics
@testable import NHIFormats
@testable import NHIStore
@testable import NHIModel
@testable import NHIRules
@testable import NHIAudit
@testable import NHIInventory
@testable import NHIReports
@testable import NHIScan
@testable import NHIOutput
@testable import NHICLI

private struct Record: Equatable, CustomStringConvertible {
  var fields: [String]
  var line: Int
  var description: String { "\(line): \(fields)" }
}

private func readAll(_ reader: inout CSVReader) throws(CSVError) -> [Record] {
  var records: [Record] = []
  while let (fields, line) = try reader.next() { records.append(Record(fields: fields, line: line)) }
  return records
}

private func records(_ text: String) throws(CSVError) -> [Record] {
  var reader = CSVReader(string: text)
  return try readAll(&reader)
}

private func csvError(_ text: String) -> CSVError? {
  do {
    _ = try records(text)
    return nil
  } catch {
    return error
  }
}

/// Writes bytes to a fresh temp file, runs body with its path, then deletes it.
private func withTempFile<R>(_ bytes: [UInt8], _ body: (String) throws -> R) throws -> R {
  var template = Array("/tmp/nhi-csv-test-XXXXXX".utf8CString)
  let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
  precondition(fd >= 0, "mkstemp failed")
  let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
  defer { unlink(path) }
  var offset = 0
  bytes.withUnsafeBytes { raw in
    while offset < raw.count {
      let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
      precondition(n > 0, "write failed")
      offset += n
    }
  }
  close(fd)
  return try body(path)
}

@Suite struct CSVReaderTests {
  @Test func embeddedCommaQuoteAndNewline() throws {
    let text = "a,\"b,c\",\"say \"\"hi\"\"\",\"multi\nline\"\nx,y,z,w\n"
    #expect(
      try records(text) == [
        Record(fields: ["a", "b,c", "say \"hi\"", "multi\nline"], line: 1),
        Record(fields: ["x", "y", "z", "w"], line: 3),
      ])
  }

  @Test func crlfAndLoneCR() throws {
    #expect(try records("a,b\r\nc,d\r\n") == [Record(fields: ["a", "b"], line: 1), Record(fields: ["c", "d"], line: 2)])
    // CRLF inside quotes is data and still advances the line count.
    #expect(
      try records("\"x\r\ny\",z\r\nnext\r\n") == [
        Record(fields: ["x\r\ny", "z"], line: 1), Record(fields: ["next"], line: 3),
      ])
    // A lone CR is data, not a record end.
    #expect(try records("\"a\rb\",c\rd\n") == [Record(fields: ["a\rb", "c\rd"], line: 1)])
    // CR right after a closing quote must be part of CRLF.
    #expect(csvError("\"a\"\rb\n")?.line == 1)
  }

  @Test func bomAndFinalRecordWithoutNewline() throws {
    #expect(
      try records("\u{FEFF}h1,h2\n1,2") == [
        Record(fields: ["h1", "h2"], line: 1), Record(fields: ["1", "2"], line: 2),
      ])
    #expect(try records("\"q\"") == [Record(fields: ["q"], line: 1)])
    // A BOM anywhere else is data.
    #expect(try records("a\n\u{FEFF}b\n") == [Record(fields: ["a"], line: 1), Record(fields: ["\u{FEFF}b"], line: 2)])
  }

  @Test func emptyLinesAreSkippedButEmptyFieldsAreNot() throws {
    #expect(try records("a\n\n\r\nb\n\n") == [Record(fields: ["a"], line: 1), Record(fields: ["b"], line: 4)])
    #expect(try records("") == [])
    #expect(try records("\n\n") == [])
    #expect(try records(",\n") == [Record(fields: ["", ""], line: 1)])
    #expect(try records("\"\"\n") == [Record(fields: [""], line: 1)])
    #expect(try records("a,,b") == [Record(fields: ["a", "", "b"], line: 1)])
    #expect(try records("a,") == [Record(fields: ["a", ""], line: 1)])
    #expect(try records(" \n") == [Record(fields: [" "], line: 1)])
  }

  @Test func unterminatedQuoteNamesTheLineWhereTheFieldBegan() {
    let e = csvError("a,b\nc,\"unterminated\nmore\nstill\n")
    #expect(e?.line == 2)
    #expect(e?.message == "unterminated quoted field starting on line 2")
    #expect(e?.description == "line 2: unterminated quoted field starting on line 2")
  }

  @Test func strayQuotes() {
    let inField = csvError("ok\na,b\"c\n")
    #expect(inField?.line == 2)
    #expect(inField?.message.hasPrefix("quote inside an unquoted field") == true)
    // Text after a closing quote, on the physical line after a multi-line field.
    let afterQuote = csvError("a\n\"b\nb2\"x,c\n")
    #expect(afterQuote?.line == 3)
    #expect(afterQuote?.message.hasPrefix("unexpected character after closing quote") == true)
  }

  @Test func invalidUTF8() throws {
    var reader = CSVReader(bytes: [0x61, 0x0A, 0x62, 0x2C, 0xFF, 0x0A])
    #expect(try reader.next()?.fields == ["a"])
    #expect(throws: CSVError(line: 2, message: "invalid UTF-8 in field")) { try reader.next() }
  }

  @Test func streamsFilesAcrossChunkBoundaries() throws {
    // ~60 bytes per record, two physical lines each, so records and CRLFs straddle 64 KiB chunks.
    var text = "\u{FEFF}id,text,end\r\n"
    let count = 5000
    for i in 0..<count { text += "\(i),\"text, with \"\"q\"\"\r\nsecond line \(i)\",end\r\n" }
    let rows = try withTempFile(Array(text.utf8)) { path in
      var reader = try CSVReader(path: path)
      return try readAll(&reader)
    }
    #expect(rows.count == count + 1)
    #expect(rows[0] == Record(fields: ["id", "text", "end"], line: 1))
    for i in [0, 1, 1234, 2047, count - 1] {
      #expect(rows[i + 1] == Record(fields: ["\(i)", "text, with \"q\"\r\nsecond line \(i)", "end"], line: 2 * i + 2))
    }
    #expect(rows.allSatisfy { $0.fields.count == 3 && $0.fields[2] == "end" })
  }

  @Test func unreadablePathThrows() {
    #expect(throws: CSVError.self) { _ = try CSVReader(path: "/nonexistent/nhi/file.csv") }
    #expect(throws: CSVError.self) { _ = try CSVReader(path: "/tmp") }  // directory: read fails
  }
}

@Suite struct CSVWriterTests {
  @Test func quotesOnlyWhenNeeded() {
    #expect(CSVWriter.line(["a", "b c", ""]) == "a,b c,\n")
    #expect(CSVWriter.line(["a,b", "q\"q", "n\nl", "r\rx"]) == "\"a,b\",\"q\"\"q\",\"n\nl\",\"r\rx\"\n")
    #expect(CSVWriter.line([]) == "\n")
  }

  @Test func writerOutputReadsBack() throws {
    let rows = [["id", "note"], ["1", "has, comma"], ["2", "has \"quote\""], ["3", "multi\r\nline\n"], ["4", ""], ["5", "é😀"]]
    let text = rows.map(CSVWriter.line).joined()
    #expect(try records(text).map(\.fields) == rows)
  }
}

@Suite struct CSVFormulaTests {
  @Test(arguments: [
    ("=1+1", "'=1+1"), ("+x", "'+x"), ("-5", "'-5"), ("@a", "'@a"), ("'=x", "''=x"), ("''@y", "'''@y"),
    ("plain", "plain"), ("'plain", "'plain"), ("", ""), ("'", "'"), ("a=b", "a=b"),
  ])
  func neutraliseAndRestoreRoundTrip(_ input: String, _ neutralised: String) {
    #expect(CSVFormula.neutralise(input) == neutralised)
    #expect(CSVFormula.restore(neutralised) == input)
  }

  @Test func restoreOnlyRemovesAnAddedQuote() {
    #expect(CSVFormula.restore("'plain") == "'plain")
    #expect(CSVFormula.restore("'=x") == "=x")
    #expect(CSVFormula.restore("=x") == "=x")
    #expect(CSVFormula.restore("''") == "''")
  }
}

@Suite struct LineReaderTests {
  private func lines(_ reader: inout LineReader) -> [(String, Int)] {
    var out: [(String, Int)] = []
    while let (bytes, line) = reader.next() { out.append((String(decoding: bytes, as: UTF8.self), line)) }
    return out
  }

  @Test func terminatorsAndNumbering() {
    var reader = LineReader(string: "\u{FEFF}a\r\nb\n\nc")
    let got = lines(&reader)
    #expect(got.map(\.0) == ["a", "b", "", "c"])
    #expect(got.map(\.1) == [1, 2, 3, 4])
    var empty = LineReader(string: "")
    #expect(empty.next() == nil)
    var single = LineReader(string: "only\n")
    #expect(lines(&single).map(\.0) == ["only"])
  }

  @Test func longLinesAndChunkBoundaries() throws {
    let long = String(repeating: "x", count: 200_000)  // longer than several chunks
    var text = "first\n\(long)\r\n"
    for i in 0..<20_000 { text += "{\"i\":\(i)}\n" }
    text += "tail"
    let got = try withTempFile(Array(text.utf8)) { path in
      var reader = try LineReader(path: path)
      var out: [(String, Int)] = []
      // Zero-copy variant.
      while let entry = reader.withNextLine({ bytes, line in (String(decoding: bytes, as: UTF8.self), line) }) {
        out.append(entry)
      }
      #expect(reader.readError == nil)
      return out
    }
    #expect(got.count == 20_003)
    #expect(got[0] == ("first", 1))
    #expect(got[1].0 == long)
    #expect(got[2] == ("{\"i\":0}", 3))
    #expect(got[20_001] == ("{\"i\":19999}", 20_002))
    #expect(got[20_002] == ("tail", 20_003))
    #expect(got.enumerated().allSatisfy { $0.element.1 == $0.offset + 1 })
  }

  @Test func unreadablePathThrows() {
    #expect(throws: CSVError.self) { _ = try LineReader(path: "/nonexistent/x.ndjson") }
  }
}
