import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A live status line for long work ("pre-training · epoch 3/20 · loss 0.41 · 5,300 img/s").
///
/// On a terminal it rewrites one line in place (`\r`, then erase to end of line) at most
/// every `interactiveInterval` seconds. When output is not a terminal, or the `CI`
/// environment variable is set, it prints plain lines instead, at most one every
/// `plainInterval` seconds, so logs stay short. `finish` always prints the final state.
/// Safe to call from several threads.
public final class ProgressLine: Sendable {
    /// How updates are shown.
    public enum Mode: Sendable, Equatable {
        /// Rewrite one terminal line in place.
        case interactive
        /// Print occasional complete lines (logs, CI).
        case plain
        /// Print nothing.
        case silent
    }

    /// How updates are shown.
    public let mode: Mode
    /// Minimum seconds between redraws in interactive mode.
    public let interactiveInterval: Double
    /// Minimum seconds between lines in plain mode.
    public let plainInterval: Double

    private struct State {
        var lastShown: Double = -Double.infinity
        var pending: String?
        var lineOpen = false
        var lastText: String?
    }

    private let state = Mutex(State())
    private let output: @Sendable (String) -> Void
    private let clock: @Sendable () -> Double
    private let columns: Int

    /// A progress line.
    /// - Parameters:
    ///   - mode: how to show updates; `nil` picks `detectMode()` for standard error.
    ///   - interactiveInterval: seconds between terminal redraws (default 0.1).
    ///   - plainInterval: seconds between plain lines (default 10).
    ///   - output: where text goes (default: standard error, unbuffered).
    ///   - clock: monotonic seconds (injectable for tests).
    public init(mode: Mode? = nil, interactiveInterval: Double = 0.1, plainInterval: Double = 10,
                output: (@Sendable (String) -> Void)? = nil, clock: (@Sendable () -> Double)? = nil) {
        self.mode = mode ?? ProgressLine.detectMode()
        self.interactiveInterval = max(0, interactiveInterval)
        self.plainInterval = max(0, plainInterval)
        self.output = output ?? { text in FileHandle.standardError.write(Data(text.utf8)) }
        if let clock {
            self.clock = clock
        } else {
            let start = ContinuousClock.now
            self.clock = {
                let elapsed = ContinuousClock.now - start
                return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            }
        }
        let width = Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 100
        self.columns = max(20, width)
    }

    /// The mode for standard error: `plain` when `CI` is set (to anything but empty, `0`
    /// or `false`) or standard error is not a terminal, `interactive` otherwise.
    public static func detectMode(environment: [String: String] = ProcessInfo.processInfo.environment,
                                  isTerminal: Bool = isatty(STDERR_FILENO) != 0) -> Mode {
        if let ci = environment["CI"], !ci.isEmpty, ci != "0", ci.lowercased() != "false" { return .plain }
        return isTerminal ? .interactive : .plain
    }

    /// Shows `text` as the current status, unless the last one was shown too recently (it
    /// is then kept and shown by a later update or by `finish`).
    public func update(_ text: String) {
        let now = clock()
        let line: String? = state.withLock { s in
            s.lastText = text
            switch mode {
            case .silent:
                return nil
            case .interactive:
                guard now - s.lastShown >= interactiveInterval else { s.pending = text; return nil }
                s.lastShown = now
                s.pending = nil
                s.lineOpen = true
                return "\r" + fitted(text) + "\u{1B}[K"
            case .plain:
                guard now - s.lastShown >= plainInterval else { s.pending = text; return nil }
                s.lastShown = now
                s.pending = nil
                return text + "\n"
            }
        }
        if let line { output(line) }
    }

    /// Prints `text` as a permanent line above the status (which is redrawn).
    public func log(_ text: String) {
        let line: String? = state.withLock { s in
            switch mode {
            case .silent: return nil
            case .plain: return text + "\n"
            case .interactive:
                guard s.lineOpen, let status = s.lastText else { return text + "\n" }
                return "\r\u{1B}[K" + text + "\n" + fitted(status) + "\u{1B}[K"
            }
        }
        if let line { output(line) }
    }

    /// Shows the final status (`text`, or the last update not yet shown) and ends the line.
    public func finish(_ text: String? = nil) {
        let line: String? = state.withLock { s in
            defer {
                s.pending = nil
                s.lineOpen = false
                s.lastShown = -Double.infinity
            }
            switch mode {
            case .silent:
                return nil
            case .interactive:
                if let final = text ?? s.pending ?? (s.lineOpen ? s.lastText : nil) {
                    return "\r" + fitted(final) + "\u{1B}[K\n"
                }
                return nil
            case .plain:
                return (text ?? s.pending).map { $0 + "\n" }
            }
        }
        if let line { output(line) }
    }

    /// `text` cut to the terminal width, so `\r` can rewrite it (a wrapped line cannot be).
    private func fitted(_ text: String) -> String {
        text.count < columns ? text : String(text.prefix(columns - 2)) + "…"
    }
}
