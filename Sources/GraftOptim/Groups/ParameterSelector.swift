import GraftTensor

/// A predicate over parameters that picks a group's members (after mlx-swift's key filters).
/// Selectors combine with `||`, `&&` and `!`.
public struct ParameterSelector: Sendable, CustomStringConvertible {
    /// A readable form, used in error messages.
    public let description: String
    private let predicate: @Sendable (ParameterInfo) -> Bool

    /// A selector from a predicate; `name` describes it in messages.
    public init(_ name: String, _ predicate: @escaping @Sendable (ParameterInfo) -> Bool) {
        description = name
        self.predicate = predicate
    }

    /// Whether `parameter` is selected.
    public func matches(_ parameter: ParameterInfo) -> Bool { predicate(parameter) }

    /// Every parameter.
    public static let all = ParameterSelector("*") { _ in true }

    /// Paths matching a glob: `*` matches any run of characters (dots included), `?` one character.
    public static func glob(_ pattern: String) -> ParameterSelector {
        let p = Array(pattern)
        return ParameterSelector("glob(\(pattern))") { globMatch(p, Array($0.path)) }
    }

    /// Exactly this path.
    public static func path(_ path: String) -> ParameterSelector {
        ParameterSelector("path(\(path))") { $0.path == path }
    }

    /// Paths starting with `prefix`.
    public static func prefix(_ prefix: String) -> ParameterSelector {
        ParameterSelector("prefix(\(prefix))") { $0.path.hasPrefix(prefix) }
    }

    /// Paths ending with `suffix`.
    public static func suffix(_ suffix: String) -> ParameterSelector {
        ParameterSelector("suffix(\(suffix))") { $0.path.hasSuffix(suffix) }
    }

    /// Parameters of rank `rank` (1: biases and norms, 2: weight matrices).
    public static func rank(_ rank: Int) -> ParameterSelector {
        ParameterSelector("rank(\(rank))") { $0.rank == rank }
    }

    /// Parameters of rank ≥ `rank` (`.rank(atLeast: 2)`: weight matrices and kernels, the
    /// usual target of weight decay).
    public static func rank(atLeast rank: Int) -> ParameterSelector {
        ParameterSelector("rank(atLeast: \(rank))") { $0.rank >= rank }
    }

    /// Parameters of rank ≤ `rank` (`.rank(atMost: 1)`: biases, norm scales, scalars).
    public static func rank(atMost rank: Int) -> ParameterSelector {
        ParameterSelector("rank(atMost: \(rank))") { $0.rank <= rank }
    }

    /// Trainable parameters.
    public static let trainable = ParameterSelector("trainable") { $0.isTrainable }

    /// Parameters with an anchor (pre-trained or adapter); `!hasAnchor` selects new heads.
    public static let hasAnchor = ParameterSelector("hasAnchor") { $0.hasAnchor }

    /// Parameters whose anchor is `kind`.
    public static func anchor(_ kind: AnchorKind) -> ParameterSelector {
        ParameterSelector("anchor(\(kind))") { $0.anchor == kind }
    }

    public static func || (a: ParameterSelector, b: ParameterSelector) -> ParameterSelector {
        ParameterSelector("(\(a) || \(b))") { a.matches($0) || b.matches($0) }
    }
    public static func && (a: ParameterSelector, b: ParameterSelector) -> ParameterSelector {
        ParameterSelector("(\(a) && \(b))") { a.matches($0) && b.matches($0) }
    }
    public static prefix func ! (a: ParameterSelector) -> ParameterSelector {
        ParameterSelector("!\(a)") { !a.matches($0) }
    }
}

/// Glob matching with `*` (any run) and `?` (one character), iterative with backtracking.
func globMatch(_ pattern: [Character], _ text: [Character]) -> Bool {
    var p = 0, t = 0, star = -1, mark = 0
    while t < text.count {
        if p < pattern.count && (pattern[p] == "?" || pattern[p] == text[t]) {
            p += 1; t += 1
        } else if p < pattern.count && pattern[p] == "*" {
            star = p; mark = t; p += 1
        } else if star >= 0 {
            p = star + 1; mark += 1; t = mark
        } else {
            return false
        }
    }
    while p < pattern.count && pattern[p] == "*" { p += 1 }
    return p == pattern.count
}
