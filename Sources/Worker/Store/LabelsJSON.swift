import Common

/// The `labels` column's text: a flat JSON object of strings, e.g. `{"feature":"search"}`.
/// Written with sorted keys (so equal labels are equal text); read leniently: a value that is
/// not a string (someone edited the row by hand) comes back as its JSON text.
enum LabelsJSON {
    static func encode(_ labels: [String: String]) -> String {
        if labels.isEmpty { return "{}" }
        var text = "{"
        for (index, key) in labels.keys.sorted().enumerated() {
            if index > 0 { text += "," }
            text += JSONText.quoted(key) + ":" + JSONText.quoted(labels[key]!)
        }
        return text + "}"
    }

    static func decode(_ text: String) throws(StoreError) -> [String: String] {
        guard let value = try? JSONParser.parse(Array(text.utf8)), let object = value.objectValue else {
            throw .internal("labels column holds something other than a JSON object")
        }
        var labels: [String: String] = [:]
        for (key, value) in object {
            labels[key] = value.stringValue ?? value.jsonText
        }
        return labels
    }
}
