import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
#if canImport(Glibc)
import Glibc
#endif

/// Finds MCP client configuration files under the paths given to `nhi scan`, with opendir/readdir.
/// A file named on the command line is always read; in a directory, files with the usual names (or matching an
/// `--include` glob) are. `.git` and `node_modules` are not entered; symbolic links to directories are not
/// followed (no cycles, no leaving the tree), and a link to a file is read only when it resolves inside the tree.
public struct FileWalker {
    /// Names MCP clients use (Docs/references.md §6): Claude Desktop, Claude Code (`.mcp.json`, and `~/.claude.json`
    /// for the user and local scopes), Cursor and VS Code (`.cursor/mcp.json`, `.vscode/mcp.json`), Windsurf
    /// (`mcp_config.json`).
    public static let configNames: Set<String> = ["mcp.json", ".mcp.json", "claude_desktop_config.json", ".claude.json", "mcp_config.json"]
    public static let skippedDirectories: Set<String> = [".git", "node_modules"]

    public var includes: [String] = []

    public init(includes: [String] = []) { self.includes = includes }

    public enum Event {
        case file(String)
        /// A path that could not be walked or was left out, and why (`isError`: its content went unchecked).
        case problem(path: String, message: String, isError: Bool)
    }

    public func walk(_ path: String, _ visit: (Event) -> Void) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return visit(.problem(path: path, message: Self.describe(errno), isError: true))
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            let root = Self.realPath(path) ?? path
            walkDirectory(path, relative: "", root: root, visit)
        } else if (info.st_mode & S_IFMT) == S_IFREG {
            visit(.file(path))
        } else {
            visit(.problem(path: path, message: "not a regular file or directory", isError: true))
        }
    }

    private func walkDirectory(_ directory: String, relative: String, root: String, _ visit: (Event) -> Void) {
        guard let handle = opendir(directory) else {
            return visit(.problem(path: directory, message: Self.describe(errno), isError: true))
        }
        var entries: [(name: String, type: UInt8)] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            entries.append((name, entry.pointee.d_type))
        }
        closedir(handle)
        entries.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }  // a stable order for reports

        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        for (name, rawType) in entries {
            let path = prefix + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            var type = rawType
            if type == UInt8(DT_UNKNOWN) {
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: type = UInt8(DT_DIR)
                case S_IFREG: type = UInt8(DT_REG)
                case S_IFLNK: type = UInt8(DT_LNK)
                default: continue
                }
            }
            switch type {
            case UInt8(DT_DIR):
                if Self.skippedDirectories.contains(name) { continue }
                walkDirectory(path, relative: relativePath, root: root, visit)
            case UInt8(DT_REG):
                if wanted(name: name, relative: relativePath) { visit(.file(path)) }
            case UInt8(DT_LNK):
                guard wanted(name: name, relative: relativePath) else { continue }
                var info = stat()
                guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                guard let target = Self.realPath(path), target.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
                    visit(.problem(path: path, message: "symbolic link to a file outside the scanned tree; not followed (name the file itself to scan it)", isError: false))
                    continue
                }
                visit(.file(path))
            default: continue
            }
        }
    }

    package func wanted(name: String, relative: String) -> Bool {
        if Self.configNames.contains(name) { return true }
        for pattern in includes {
            let subject = pattern.contains("/") ? relative : name
            if fnmatch(pattern, subject, 0) == 0 { return true }
        }
        return false
    }

    package static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    package static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// Reads a whole file, refusing one larger than `limit` bytes (nothing a client reads is that big).
package enum FileReader {
    package static let limit = 5 << 20

    package enum Failure: Error { case tooLarge(Int), system(String) }

    package static func read(_ path: String) -> Result<[UInt8], Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.system(FileWalker.describe(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.system(FileWalker.describe(errno))) }
        if Int(info.st_size) > limit { return .failure(.tooLarge(Int(info.st_size))) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var total = 0
        while true {
            if total == bytes.count {
                if total > limit { return .failure(.tooLarge(total)) }  // grew while being read
                bytes.append(contentsOf: repeatElement(0, count: 4096))
            }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.system(FileWalker.describe(errno)))
            }
            if n == 0 { break }
            total += n
        }
        if total > limit { return .failure(.tooLarge(total)) }
        bytes.removeSubrange(total...)
        return .success(bytes)
    }
}
