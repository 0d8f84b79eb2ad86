import Foundation
import Yams

extension PruningRecipe {
    /// The formats a recipe file can be written in.
    public enum FileFormat: String, Sendable {
        case json, yaml

        /// `.yaml` and `.yml` files are YAML; everything else is read as JSON.
        public init(path: String) {
            let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
            self = ext == "yaml" || ext == "yml" ? .yaml : .json
        }
    }

    /// Reads a recipe from JSON or YAML text (keys as `recipe.json` spells them; missing keys take
    /// their defaults) and validates it.
    public static func decode(_ text: String, format: FileFormat) throws(PruningError) -> PruningRecipe {
        let recipe: PruningRecipe
        do {
            // A misspelt key would otherwise fall back to its default without a word.
            let top: Any? = switch format {
            case .json: try? JSONSerialization.jsonObject(with: Data(text.utf8))
            case .yaml: try? Yams.load(yaml: text)
            }
            if let keys = (top as? [String: Any]).map({ Set($0.keys) }) {
                let unknown = keys.subtracting(knownKeys).sorted()
                if !unknown.isEmpty {
                    throw PruningError.invalidRecipe("unknown key\(unknown.count > 1 ? "s" : "") \(unknown.joined(separator: ", ")); known: \(knownKeys.sorted().joined(separator: ", "))")
                }
            }
            switch format {
            case .json: recipe = try JSONDecoder().decode(PruningRecipe.self, from: Data(text.utf8))
            case .yaml: recipe = try YAMLDecoder().decode(PruningRecipe.self, from: text)
            }
        } catch let error as PruningError {
            throw error
        } catch {
            throw .invalidRecipe("not a valid \(format.rawValue) recipe: \(Self.explain(error))")
        }
        try recipe.validate()
        return recipe
    }

    /// Reads and validates the recipe file at `path` (YAML for `.yaml`/`.yml`, JSON otherwise).
    public static func load(path: String) throws(PruningError) -> PruningRecipe {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw .invalidRecipe("cannot read recipe \(path)") }
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw .invalidRecipe("recipe \(path) is not UTF-8 text") }
        do {
            return try decode(text, format: FileFormat(path: path))
        } catch {
            if case let .invalidRecipe(reason) = error { throw .invalidRecipe("\(path): \(reason)") }
            throw error
        }
    }

    /// Every key a recipe file may hold.
    public static var knownKeys: Set<String> {
        var r = PruningRecipe(model: "", dataset: "")
        r.targetFractions = []
        let data = (try? JSONEncoder().encode(r)) ?? Data()
        return Set(((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?.keys ?? [:].keys)
    }

    /// The recipe as YAML, the same keys as its JSON form.
    public func yaml() throws -> String {
        try YAMLEncoder().encode(self)
    }

    /// A decoding error in words: which key, what was expected.
    static func explain(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, _): "the key \"\(key.stringValue)\" is required"
        case let DecodingError.typeMismatch(type, context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): expected \(type)"
        case let DecodingError.dataCorrupted(context):
            context.codingPath.isEmpty ? context.debugDescription
                : "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case let DecodingError.valueNotFound(type, context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): expected \(type), found nothing"
        default: "\(error)"
        }
    }
}
