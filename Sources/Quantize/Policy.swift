import Foundation
import Graph

/// Bits of every weight tensor (by the layer's node name) and every activation tensor (by
/// tensor name). Names not listed take the defaults. The file form (`policy.json`) is this
/// struct as JSON; the search stage writes it, users may hand-write it.
public struct Policy: Codable, Sendable, Equatable {
    public static let allowedBits = [2, 4, 8]

    public var defaultWeightBits: Int
    public var defaultActivationBits: Int
    public var weightBits: [String: Int]
    public var activationBits: [String: Int]

    public init(defaultWeightBits: Int = 8, defaultActivationBits: Int = 8, weightBits: [String: Int] = [:], activationBits: [String: Int] = [:]) {
        self.defaultWeightBits = defaultWeightBits
        self.defaultActivationBits = defaultActivationBits
        self.weightBits = weightBits
        self.activationBits = activationBits
    }

    public static func uniform(_ bits: Int) -> Policy { Policy(defaultWeightBits: bits, defaultActivationBits: bits) }

    public func weightBits(_ node: String) -> Int { weightBits[node] ?? defaultWeightBits }
    public func activationBits(_ tensor: String) -> Int { activationBits[tensor] ?? defaultActivationBits }

    /// Reads and checks a policy file against the tensors the quantizer can set for `graph`.
    public static func load(_ url: URL, graph: Graph) throws -> Policy {
        let file = url.lastPathComponent
        let p: Policy
        do {
            let data = try Data(contentsOf: url)
            let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            // The bit fields, plus what the search writes beside them for people (ignored here).
            let known: Set<String> = ["defaultWeightBits", "defaultActivationBits", "weightBits", "activationBits",
                                      "method", "seed", "score", "footprint", "budget", "layers"]
            if let unknown = obj.keys.first(where: { !known.contains($0) }) {
                throw PolicyError(file: file, field: unknown, "unknown field; expected \(known.sorted().joined(separator: ", "))")
            }
            let d = try JSONDecoder().decode(PartialPolicy.self, from: data)
            p = Policy(defaultWeightBits: d.defaultWeightBits ?? 8, defaultActivationBits: d.defaultActivationBits ?? 8,
                       weightBits: d.weightBits ?? [:], activationBits: d.activationBits ?? [:])
        } catch let e as PolicyError {
            throw e
        } catch let e as DecodingError {
            throw PolicyError(file: file, field: e.fieldPath, "\(e.summary)")
        } catch {
            throw PolicyError(file: file, field: nil, "cannot read the policy: \(error.localizedDescription)")
        }
        try p.validate(graph: graph, file: file)
        return p
    }

    public func validate(graph: Graph, file: String) throws {
        let targets = Quantizer.policyTargets(graph)
        for (k, v) in [("defaultWeightBits", defaultWeightBits), ("defaultActivationBits", defaultActivationBits)] where !Self.allowedBits.contains(v) {
            throw PolicyError(file: file, field: k, "\(v) bits is not one of 2, 4, 8")
        }
        for (name, bits) in weightBits {
            guard targets.weights.contains(name) else {
                throw PolicyError(file: file, field: "weightBits.\(name)", "no convolution or fully connected layer has this name")
            }
            guard Self.allowedBits.contains(bits) else { throw PolicyError(file: file, field: "weightBits.\(name)", "\(bits) bits is not one of 2, 4, 8") }
        }
        for (name, bits) in activationBits {
            guard targets.activations.contains(name) else {
                throw PolicyError(file: file, field: "activationBits.\(name)", "no quantizable activation tensor has this name")
            }
            guard Self.allowedBits.contains(bits) else { throw PolicyError(file: file, field: "activationBits.\(name)", "\(bits) bits is not one of 2, 4, 8") }
        }
    }

    private struct PartialPolicy: Decodable {
        var defaultWeightBits: Int?
        var defaultActivationBits: Int?
        var weightBits: [String: Int]?
        var activationBits: [String: Int]?
    }
}

public struct PolicyError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var field: String?
    public var message: String
    public init(file: String, field: String?, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }
    public var description: String { field.map { "\(file): field '\($0)': \(message)" } ?? "\(file): \(message)" }
}

extension DecodingError {
    var fieldPath: String? {
        let path: [CodingKey]
        switch self {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        @unknown default: return nil
        }
        return path.isEmpty ? nil : path.map(\.stringValue).joined(separator: ".")
    }

    var summary: String {
        switch self {
        case .typeMismatch(let t, _): return "expected a value of type \(t)"
        case .valueNotFound(let t, _): return "missing value of type \(t)"
        case .keyNotFound(let k, _): return "missing field '\(k.stringValue)'"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "invalid"
        }
    }
}
