/// What an optimizer keeps, group by group: each chain member's state tensors (names, shapes,
/// bytes) and scalars per parameter, and the anchors θ0 it stores. Made by
/// `Optimizer.stateDescription()`; `description` prints it as a Markdown table.
public struct OptimizerStateDescription: Sendable, CustomStringConvertible {
    /// One parameter's state in one member.
    public struct Entry: Sendable {
        /// The parameter's path.
        public let path: String
        /// The state tensors: name and shape.
        public let tensors: [(name: String, shape: [Int])]
        /// The scalar names (8 bytes each).
        public let scalars: [String]
        /// Bytes: 4 per tensor element, 8 per scalar.
        public var bytes: Int { tensors.reduce(0) { $0 + 4 * $1.shape.reduce(1, *) } + 8 * scalars.count }
    }

    /// One chain member.
    public struct Member: Sendable {
        /// The member's name (`.named(…)`), if any.
        public let name: String?
        /// The member's kind (e.g. `scale_by_adam`).
        public let kind: String
        /// The parameters it keeps state for (members without state have none).
        public let entries: [Entry]
        /// Total bytes.
        public var bytes: Int { entries.reduce(0) { $0 + $1.bytes } }
    }

    /// One parameter group.
    public struct Group: Sendable {
        /// The group's name.
        public let name: String
        /// Steps it has taken.
        public let step: Int
        /// Its parameters' paths.
        public let parameters: [String]
        /// Its chain members, in order.
        public let members: [Member]
        /// Bytes of the anchors θ0 it stores.
        public let anchorBytes: Int
        /// Members' state plus anchors.
        public var bytes: Int { members.reduce(anchorBytes) { $0 + $1.bytes } }
    }

    /// The groups with a transform, in priority order.
    public let groups: [Group]

    /// Everything the optimizer keeps beyond the parameters and gradients, in bytes.
    public var totalBytes: Int { groups.reduce(0) { $0 + $1.bytes } }

    /// A Markdown table: group, member, parameter, state tensors with shapes, bytes.
    public var description: String {
        var lines = ["| group | member | parameter | state | bytes |", "|---|---|---|---|---:|"]
        for g in groups {
            for m in g.members {
                let member = m.name.map { "\($0) (\(m.kind))" } ?? m.kind
                for e in m.entries {
                    let parts = e.tensors.map { "\($0.name) \($0.shape)" } + e.scalars
                    lines.append("| \(g.name) | \(member) | \(e.path) | \(parts.joined(separator: ", ")) | \(e.bytes) |")
                }
            }
            if g.anchorBytes > 0 { lines.append("| \(g.name) | anchors θ0 | | | \(g.anchorBytes) |") }
        }
        lines.append("| total | | | | \(totalBytes) |")
        return lines.joined(separator: "\n")
    }
}
