/// A table's columns declared once, as an enum (NHIModel's `TokenColumn`, `OwnerColumn`, `AgentColumn`): queries
/// select them from the declaration and read them back through a `ColumnLayout`, so no position is counted by hand.
public protocol DeclaredColumn: RawRepresentable, CaseIterable, Sendable where RawValue == Int {
    /// The SQL column.
    var name: String { get }
}

/// Where each column of a declaration sits in a statement's result: the statement selects `columns` in order,
/// starting at result position `first` (after any leading expressions). Reading a column the layout does not
/// select is a programming error, caught on first use.
///
/// A class, made once per query shape and kept for the process, so a scan's per-row values can point at it
/// without reference counting; inlinable, so a lookup is an array read in the caller's module.
public final class ColumnLayout<Column: DeclaredColumn>: Sendable {
    public let columns: [Column]
    public let first: Int32
    @usableFromInline let positions: [Int32]

    public init(_ columns: [Column], after first: Int32 = 0) {
        self.columns = columns
        self.first = first
        var positions = [Int32](repeating: -1, count: Column.allCases.count)
        for (offset, column) in columns.enumerated() { positions[column.rawValue] = first + Int32(offset) }
        self.positions = positions
    }

    /// The result position of `column`.
    @inlinable @inline(__always) public subscript(_ column: Column) -> Int32 {
        let position = positions[column.rawValue]
        precondition(position >= 0, "a column is read that this layout does not select")
        return position
    }

    @inlinable public func contains(_ column: Column) -> Bool { positions[column.rawValue] >= 0 }

    /// The position after the layout's last column (for expressions a statement selects after them).
    public var end: Int32 { first + Int32(columns.count) }

    /// `t.id, t.owner_id, ...`: the select list, each column qualified by `table` when given.
    public func selectList(table: String? = nil) -> String {
        columns.map { column in table.map { "\($0).\(column.name)" } ?? column.name }.joined(separator: ", ")
    }
}
