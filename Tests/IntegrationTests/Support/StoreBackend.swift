import Foundation
import Testing

/// The two store implementations the integration tests run against.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// The variables that select this store; PostgreSQL comes from TEST_DATABASE_URL, which the
    /// README's test command provides (its absence fails the test: nothing is skipped).
    func environment() throws -> [String: String] {
        switch self {
        case .sqlite: return [:]
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !url.isEmpty else {
                Issue.record("TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL")
                throw GatewayTestError.notServing("no TEST_DATABASE_URL")
            }
            return ["DATABASE_URL": url]
        }
    }
}
