/// A column of a listing: the JSON key, and the header tables print.
public struct Column: Sendable {
    public let key: String
    public let header: String
    public init(_ key: String, _ header: String? = nil) {
        self.key = key
        self.header = header ?? key.uppercased()
    }
}
