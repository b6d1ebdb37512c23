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

/// Fake credentials written by hand in each published shape (Docs/references.md section 5); none is a real key.
@Suite struct SecretDetectorTests {
    static let fakes: [(String, String)] = [
        ("ghp_", "ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x"),
        ("gho_", "gho_Zq81LmNp27XyWv03KsTr45UbQc69DeFgHi12"),
        ("ghu_", "ghu_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"),
        ("ghs_", "ghs_0123456789abcdefghijABCDEFGHIJklmnop"),
        ("ghr_", "ghr_9z8y7x6w5v4u3t2s1rQPONMLKJIHGFEDCBA0"),
        ("github_pat_", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP0123456789"),
        ("xoxb-", "xoxb-2468013579-1357924680-AbCdEfGhIjKlMnOpQrSt"),
        ("xoxp-", "xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789"),
        ("xapp-", "xapp-1-A0123456789-1234567890-abcdef0123"),
        ("sk-", "sk-Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9"),
        ("sk-proj-", "sk-proj-Q1w2E3r4T5y6U7i8O9p0_As-Df1Gh2Jk3Lz"),
        ("sk-ant-", "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0-Ed_Cb9AA"),
        ("glpat-", "glpat-Ab12Cd34Ef56Gh78Ij90"),
        ("AKIA", "AKIAQWERTYUIOPASDF23"),
        ("ASIA", "ASIAZXCVBNMLKJHGFD45"),
        ("AIza", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
        ("sk_live_", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        ("npm_", "npm_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8"),
        ("hf_", "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"),
        ("-----BEGIN", "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ]

    @Test func everyListedPrefixIsRefused() {
        for (prefix, fake) in Self.fakes {
            #expect(SecretDetector.inspect(fake) != nil, "\(prefix) fake not detected")
        }
        // The SPEC's list, each covered by a fake above.
        for prefix in ["ghp_", "github_pat_", "xoxb-", "sk-", "sk-ant-", "glpat-", "AKIA", "-----BEGIN"] {
            #expect(Self.fakes.contains { $0.0 == prefix })
        }
    }

    @Test func aPrefixIsFoundAnywhereInTheValue() {
        #expect(SecretDetector.inspect("token is ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x for ci") != nil)
        #expect(SecretDetector.inspect("GITHUB_TOKEN=ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x") != nil)
        #expect(SecretDetector.inspect("key:AKIAQWERTYUIOPASDF23") != nil)
        #expect(SecretDetector.inspect("svc/sk-Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9") != nil)
    }

    @Test func findingsNameTheKindButNeverTheValue() {
        let finding = SecretDetector.inspect("ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x")
        #expect(finding == .knownPrefix("GitHub token"))
        #expect(finding?.reason.contains("R2d2") == false)
    }

    @Test func longHighEntropyStringsAreRefused() {
        #expect(SecretDetector.inspect("q8Zr2LmX9vTb4NcW7pKs1HdY6fGj3Ae5") == .highEntropy)
        #expect(SecretDetector.inspect("bearer 7f3Kq9Lx2Vb8Nw4Rt6Yp1Zs5Dm0Hc3Jg") == .highEntropy)
        // base64 with + / =
        #expect(SecretDetector.inspect("dGhpcyBpcyBub3QgYSByZWFs+X9k/2Q8Lm3Z=") == .highEntropy)
    }

    @Test(arguments: [
        "svc-github-prod-2027", "gh-support-bot-prod", "550e8400-e29b-41d4-a716-446655440000",
        "alice@example.com", "platform-team@corp.example.org", "2027-01-31", "2027-01-31T12:00:00Z",
        "sk-team", "sk-learn-batch-runner-prod", "team-sk-prod-automation-key-2027", "desk-ghp_notes",
        "hf_model_sync_pipeline_for_production", "AKIA-style keys are refused", "ghp_short",
        "triage issues and label pull requests in the platform repo", "repo:read", "issues:write",
        "arn:aws:iam::123456789012:role/deploy", "projects/acme-prod/secrets/ci-token",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "build-2026-06-01-release-candidate-0001",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ])
    func ordinaryValuesPass(_ value: String) {
        #expect(SecretDetector.inspect(value) == nil)
    }

    @Test func entropyIsComputedPerCharacter() {
        #expect(SecretDetector.shannonEntropy(Array("aaaa".utf8)) == 0)
        #expect(SecretDetector.shannonEntropy(Array("abcd".utf8)) == 2)
        #expect(SecretDetector.shannonEntropy(Array("0123456789abcdef".utf8)) == 4)
    }
}
