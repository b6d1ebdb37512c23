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

@Suite struct ValidationTests {
    let fakeToken = "ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x"

    @Test(arguments: ["alice", "svc-github-prod-2027", "team/platform", "alice@example.com", "a", "0",
                      "550e8400-e29b-41d4-a716-446655440000", "urn:tool:x.y_z", String(repeating: "a", count: 128)])
    func idsAccepted(_ id: String) throws {
        #expect(try Validation.id(id, field: "id") == id)
    }

    @Test(arguments: ["", "-alice", ".hidden", "_x", "al ice", "alice!", "tab\tid", "é", "a,b", "a=b",
                      String(repeating: "a", count: 129)])
    func idsRefused(_ id: String) {
        #expect(throws: NHIError.self) { try Validation.id(id, field: "owner id") }
    }

    @Test func idErrorsAreDataErrorsNamingTheField() {
        do { _ = try Validation.id("-x", field: "owner id"); Issue.record("accepted") } catch {
            #expect(error.kind == .data)
            #expect(error.message.contains("owner id"))
            #expect(error.message.contains("start with a letter or digit"))
        }
    }

    @Test func textLimitsAndControlCharacters() throws {
        #expect(try Validation.text("Alice Ng", field: "--name", limit: 10) == "Alice Ng")
        #expect(try Validation.text(String(repeating: "x", count: 10), field: "--name", limit: 10).count == 10)
        #expect(throws: NHIError.self) { try Validation.text(String(repeating: "x", count: 11), field: "--name", limit: 10) }
        #expect(throws: NHIError.self) { try Validation.text("", field: "--name", limit: 10) }
        #expect(throws: NHIError.self) { try Validation.text("   ", field: "--name", limit: 10) }
        for bad in ["a\nb", "a\tb", "a\u{1B}[31mb", "a\u{7F}", "a\u{85}b", "a\u{0}b"] {
            #expect(throws: NHIError.self) { try Validation.text(bad, field: "--purpose", limit: 100) }
        }
        // Non-ASCII letters are text, not control characters.
        #expect(try Validation.text("Zoë Ångström 日本", field: "--name", limit: 100) == "Zoë Ångström 日本")
    }

    @Test func emails() throws {
        #expect(try Validation.email("alice@example.com") == "alice@example.com")
        for bad in ["alice", "alice@", "@example.com", "alice@example", "a@b@c.com", "alice @example.com", "alice@.com", "alice@example."] {
            #expect(throws: NHIError.self) { try Validation.email(bad) }
        }
    }

    @Test func scopes() throws {
        #expect(try Validation.scopes("repo:read,issues:write") == ["repo:read", "issues:write"])
        #expect(try Validation.scopes("a,b,a") == ["a", "b"])
        #expect(try Validation.scopes("") == [])
        #expect(throws: NHIError.self) { try Validation.scopes("a,,b") }
        #expect(throws: NHIError.self) { try Validation.scopes("a, b") }
        #expect(throws: NHIError.self) { try Validation.scopes(Array(repeating: "s", count: 101).enumerated().map { "s\($0.offset)" }.joined(separator: ",")) }
    }

    @Test func labels() throws {
        #expect(try Validation.label("ticket=SEC-42") == ("ticket", "SEC-42"))
        #expect(try Validation.label("note=a=b") == ("note", "a=b"))
        #expect(try Validation.label("gone=") == ("gone", ""))
        for bad in ["novalue", "=x", "-k=v", "k k=v", "k=line\nbreak"] {
            #expect(throws: NHIError.self) { try Validation.label(bad) }
        }
    }

    @Test func secretLookingValuesAreRefusedInEveryKindOfField() {
        let checks: [(String, () throws -> Void)] = [
            ("id", { _ = try Validation.id(fakeToken, field: "token id") }),
            ("text", { _ = try Validation.text("copy of \(fakeToken)", field: "--purpose", limit: 500) }),
            ("email", { _ = try Validation.email("\(fakeToken)@example.com") }),
            ("scope", { _ = try Validation.scopes("repo:read,\(fakeToken)") }),
            ("label value", { _ = try Validation.label("k=\(fakeToken)") }),
            ("label key", { _ = try Validation.label("AKIAQWERTYUIOPASDF23=v") }),
        ]
        for (name, check) in checks {
            do {
                try check()
                Issue.record("\(name): a secret-looking value was accepted")
            } catch let error as NHIError {
                #expect(error.kind == .data, "\(name)")
                #expect(error.message.contains("looks like a live secret"), "\(name): \(error.message)")
                #expect(!error.message.contains("R2d2C3po"), "\(name) echoed the secret")
                #expect(!error.message.contains("QWERTYUIOP"), "\(name) echoed the secret")
            } catch {
                Issue.record("\(name): unexpected \(error)")
            }
        }
    }

    @Test func printableRedactsSecretsAndControlCharacters() {
        #expect(Redaction.printable(fakeToken) == "<redacted>")
        #expect(Redaction.printable("a\u{1B}b") == "a?b")
        #expect(Redaction.printable(String(repeating: "x", count: 100)) == String(repeating: "x", count: 60) + "...")
    }
}
