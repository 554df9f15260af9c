import Common

/// The price table costs come from: the store's `model_pricing`, loaded at start and refreshed
/// periodically (and at once after an admin change), so pricing is a lookup, never a query.
/// Confined to its worker's loop (owned by `WorkerServices`).
final class PriceBook {
    private var prices: [String: ModelPrice] = [:]
    /// Model names longest first, for matching dated snapshots (`gpt-4o-mini-2024-07-18`).
    private var namesByLength: [String] = []
    private(set) var isLoaded = false

    func replace(with rows: [ModelPrice]) {
        prices = Dictionary(rows.map { ($0.model, $0) }, uniquingKeysWith: { _, last in last })
        namesByLength = prices.keys.sorted { $0.count > $1.count }
        isLoaded = true
    }

    /// The price of `model`: an exact entry, else the longest entry the name starts with
    /// followed by `-` (a dated snapshot of a priced model).
    func price(for model: String) -> ModelPrice? {
        if let exact = prices[model] { return exact }
        for name in namesByLength where model.hasPrefix(name + "-") { return prices[name] }
        return nil
    }

    var all: [ModelPrice] { prices.values.sorted { $0.model < $1.model } }

    /// The exact cost of `usage` at `price`, in USD: uncached input at the input price, cached
    /// input at the cached price (the input price when none is set), cache writes at 1.25 × the
    /// input price (Anthropic's five-minute cache writes), output (reasoning included) at the
    /// output price. Summed exactly, then divided by a million once.
    static func cost(of usage: Usage, at price: ModelPrice) -> Decimal12 {
        let cachedPrice = price.cachedInputPerMillion ?? price.inputPerMillion
        let uncached = max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens)
        var product = price.inputPerMillion.units * Int128(uncached)
        product += cachedPrice.units * Int128(usage.cachedTokens)
        product += price.inputPerMillion.units * Int128(usage.cacheWriteTokens) * 5 / 4
        product += price.outputPerMillion.units * Int128(usage.completionTokens)
        let (quotient, remainder) = product.quotientAndRemainder(dividingBy: 1_000_000)
        return Decimal12(units: remainder * 2 >= 1_000_000 ? quotient + 1 : quotient)
    }
}
