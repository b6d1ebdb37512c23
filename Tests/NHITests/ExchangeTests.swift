import Testing
@testable import NHI
