import Testing
@testable import NHIOutput

@Suite("GitHub workflow commands")
struct GitHubOutputTests {
    @Test("messages escape %, CR and LF; property values also : and , (% first, as actions/toolkit's command.ts)")
    func escaping() {
        #expect(GitHubOutput.escapeData("100% done\nnext\r:a,b") == "100%25 done%0Anext%0D:a,b")
        #expect(GitHubOutput.escapeProperty("nhi: a,b %0A\n") == "nhi%3A a%2Cb %250A%0A")
        // Escaping % first: an already-escaped-looking value is not decoded as a line break by the runner.
        #expect(GitHubOutput.escapeData("%0A") == "%250A")
    }

    @Test("summary cells escape | so a value cannot end the markdown table cell")
    func cells() {
        #expect(GitHubOutput.cell("a|b\nc") == "a\\|b c")
    }
}
