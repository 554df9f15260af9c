import Testing

@testable import Common

@Suite struct Decimal12Tests {
    @Test(arguments: [
        ("0", "0"), ("0.0", "0"), ("-0", "0"), ("00012", "12"), ("12.", "12"), (".5", "0.5"), ("+1.25", "1.25"),
        ("0.0000135", "0.0000135"), ("0.000001234567", "0.000001234567"), ("0.150000000", "0.15"),
        ("10.00", "10"), ("-2.50", "-2.5"), ("99999999.999999999999", "99999999.999999999999"),
        ("0.000000000001", "0.000000000001"), ("1.500000000000000000", "1.5"),
        ("123456789012345678901234.5", "123456789012345678901234.5"),
    ])
    func parsesAndFormatsPlainDecimals(input: String, expected: String) throws {
        let value = try #require(Decimal12(input))
        #expect(value.description == expected)
        #expect(Decimal12(value.description) == value)
    }

    @Test(arguments: [
        "", "-", "+", ".", "1.2.3", "1e-6", "1E5", " 1", "1 ", "0x10", "1,5", "abc", "--1", "0.0000000000001",
        "1.0000000000005", "NaN", "∞", "1_000",
    ])
    func rejectsWhatIsNotAnExactPlainDecimal(input: String) {
        #expect(Decimal12(input) == nil)
    }

    @Test func rejectsNumbersOutOfRange() {
        #expect(Decimal12("100000000000000000000000000") != nil)
        #expect(Decimal12("100000000000000000000000001") == nil)
        #expect(Decimal12(String(repeating: "9", count: 60)) == nil)
    }

    @Test func unitsAreTenToTheMinusTwelve() {
        #expect(Decimal12("1")!.units == 1_000_000_000_000)
        #expect(Decimal12("0.000000000001")!.units == 1)
        #expect(Decimal12("-0.5")!.units == -500_000_000_000)
        #expect(Decimal12(15).description == "15")
        #expect(Decimal12(-3).description == "-3")
        #expect(Decimal12.zero.description == "0")
        #expect(Decimal12(units: -1).description == "-0.000000000001")
    }

    @Test func addsExactly() {
        // 0.1 + 0.2 is exactly 0.3 here, unlike binary floating point.
        #expect(Decimal12("0.1")! + Decimal12("0.2")! == Decimal12("0.3")!)
        let cost = Decimal12("0.000001234567")!
        var total = Decimal12.zero
        for _ in 0..<100_000 { total += cost }
        #expect(total.description == "0.1234567")
        #expect((Decimal12("1")! - Decimal12("1.5")!).description == "-0.5")
        var difference = Decimal12("2")!
        difference -= Decimal12("0.000000000001")!
        #expect(difference.description == "1.999999999999")
    }

    @Test func multipliesByIntegersExactly() {
        #expect(Decimal12("0.000000075")!.multiplied(by: 1_000_000).description == "0.075")
        #expect((Decimal12("2.5")! * 4).description == "10")
        #expect((3 * Decimal12("0.000001234567")!).description == "0.000003703701")
        #expect((Decimal12("1.5")! * -2).description == "-3")
        #expect((Decimal12("0.5")! * 0) == .zero)
    }

    @Test func costPerMillionTokens() {
        // 90 tokens at 0.15 USD per million: 0.0000135 USD, the contract's example.
        #expect(Decimal12("0.15")!.costPerMillion(tokens: 90).description == "0.0000135")
        #expect(Decimal12("0.075")!.costPerMillion(tokens: 1).description == "0.000000075")
        #expect(Decimal12("15")!.costPerMillion(tokens: 1_000_000).description == "15")
        // 1 token at 0.000000001 per million is 1e-15: below 12 places, rounds to zero;
        // 500 of them (5e-13) round half away from zero to 1e-12.
        #expect(Decimal12("0.000000001")!.costPerMillion(tokens: 1) == .zero)
        #expect(Decimal12("0.000000001")!.costPerMillion(tokens: 500).description == "0.000000000001")
        #expect(Decimal12("0.000000001")!.costPerMillion(tokens: 499) == .zero)
        #expect(Decimal12("-0.000000001")!.costPerMillion(tokens: 500).description == "-0.000000000001")
    }

    @Test func comparesAndHashesByValue() {
        #expect(Decimal12("0.5")! < Decimal12("0.75")!)
        #expect(Decimal12("-1")! < Decimal12.zero)
        #expect(Decimal12("2.50")! == Decimal12("2.5")!)
        #expect(Set([Decimal12("1.0")!, Decimal12("1")!]).count == 1)
    }

    @Test func fixedTextHasTwelveDecimals() {
        #expect(Decimal12("0.0000135")!.fixedText == "0.000013500000")
        #expect(Decimal12.zero.fixedText == "0.000000000000")
        #expect(Decimal12("-12.5")!.fixedText == "-12.500000000000")
        #expect(Decimal12(Decimal12("-12.5")!.fixedText) == Decimal12("-12.5"))
        // Either side of 64 bits, where the writer leaves its fast path, and the ends of Int128.
        #expect(Decimal12(units: Int128(UInt64.max)).fixedText == "18446744.073709551615")
        #expect(Decimal12(units: -Int128(UInt64.max) - 1).fixedText == "-18446744.073709551616")
        #expect(Decimal12(units: .max).fixedText == "170141183460469231731687303.715884105727")
        #expect(Decimal12(units: .min).fixedText == "-170141183460469231731687303.715884105728")
        #expect(Decimal12(units: .min).fixedText.utf8.count == Decimal12.maxFixedTextCount)
    }

    @Test func countsSignificantFractionDigits() {
        #expect(Decimal12("3")!.significantFractionDigits == 0)
        #expect(Decimal12("0.075")!.significantFractionDigits == 3)
        #expect(Decimal12("0.000000001")!.significantFractionDigits == 9)
        #expect(Decimal12("0.000000000001")!.significantFractionDigits == 12)
    }
}
