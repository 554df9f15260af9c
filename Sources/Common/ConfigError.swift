/// A configuration value that cannot be used. The start stops with `description` as its one line.
public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The environment variable (or config-file field) at fault.
    public var variable: String
    /// What is wrong and what is accepted, for a person to act on. Never contains a secret's value.
    public var problem: String

    public init(_ variable: String, _ problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "invalid configuration: \(variable): \(problem)" }
}
