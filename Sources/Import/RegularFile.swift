#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation

/// Reading input files safely: only regular files are read (a FIFO would block forever, a
/// device such as /dev/zero would never end), and never more than a limit.
///
/// The file is opened non-blocking and checked with `fstat` on the open descriptor, so a path
/// swapped for a FIFO between a check and the read cannot block us.
public enum RegularFile {
    /// Why a file cannot be read; callers wrap it in their own error naming the file's role.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ d: String) { description = d }
    }

    /// The bytes of the regular file at `url`, at most `maxBytes` of them.
    public static func read(_ url: URL, maxBytes: Int) throws(Problem) -> [UInt8] {
        let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Problem("cannot open the file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Problem("cannot stat the file: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw Problem("is \(kind(st.st_mode)), not a regular file; refused") }
        let size = Int(st.st_size)
        guard size <= maxBytes else { throw Problem("file is \(size) bytes, larger than the \(maxBytes)-byte limit") }
        var out = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, size - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Problem("read error: \(String(cString: strerror(errno)))") }
            if n == 0 { break }  // the file shrank while we read it
            done += n
        }
        return done == size ? out : Array(out.prefix(done))
    }

    /// Nil when `url` is a regular file (following symbolic links), else what it is.
    public static func problem(_ url: URL) -> String? {
        var st = stat()
        guard stat(url.path, &st) == 0 else { return "does not exist or cannot be read: \(String(cString: strerror(errno)))" }
        return (st.st_mode & S_IFMT) == S_IFREG ? nil : "is \(kind(st.st_mode)), not a regular file; refused"
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a folder"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }
}

/// Throws `ImportMessage` when `url` is not a regular file.
func requireRegularFile(_ url: URL, what: String) throws {
    if let p = RegularFile.problem(url) { throw ImportMessage("\(what) \(p)") }
}

extension ImportError: LocalizedError {
    /// Callers that prefix the file name themselves use `localizedDescription`.
    public var errorDescription: String? { message }
}
