//! Properties of the domain's parsers, over generated inputs.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rust_decimal::Decimal;
use simgate_domain::{ActivationCode, Currency, Iccid, Money};

proptest! {
    /// Every ICCID minted with a check digit parses back to itself.
    #[test]
    fn minted_iccids_parse(body in "89[0-9]{16,17}") {
        let iccid = Iccid::with_check_digit(&body).unwrap();
        prop_assert_eq!(Iccid::parse(iccid.as_str()).unwrap(), iccid);
    }

    /// The Luhn digit catches every single-digit typo.
    #[test]
    fn any_single_digit_typo_is_caught(body in "89[0-9]{16,17}", position in 2usize..19, delta in 1u8..10) {
        let iccid = Iccid::with_check_digit(&body).unwrap().to_string();
        let position = position.min(iccid.len() - 1);
        let mut digits = iccid.into_bytes();
        digits[position] = b'0' + (digits[position] - b'0' + delta) % 10;
        let typo = String::from_utf8(digits).unwrap();
        prop_assert!(Iccid::parse(&typo).is_err(), "{} passed", typo);
    }

    /// Activation codes survive a format/parse round trip, whatever their parts.
    #[test]
    fn activation_codes_round_trip(
        smdp in "[a-z0-9.-]{1,40}",
        matching in "[A-Z0-9-]{0,32}",
        oid in proptest::option::of("[0-9.]{1,30}"),
        confirm in any::<bool>(),
    ) {
        let code = ActivationCode {
            smdp_address: smdp,
            matching_id: matching,
            smdp_oid: oid,
            confirmation_code_required: confirm,
        };
        prop_assert_eq!(ActivationCode::parse(&code.to_string()).unwrap(), code);
    }

    /// Arbitrary text never panics the parsers.
    #[test]
    fn parsers_never_panic(raw in ".{0,64}") {
        let _ = Iccid::parse(&raw);
        let _ = ActivationCode::parse(&raw);
        let _ = Currency::parse(&raw);
    }

    /// Amounts with up to six decimals are stored exactly.
    #[test]
    fn money_round_trips_through_micros(units in 0i64..1_000_000_000, scale in 0u32..=6) {
        let usd = Currency::parse("USD").unwrap();
        let money = Money::new(Decimal::new(units, scale), usd).unwrap();
        let stored = Money::from_micros(money.to_micros().unwrap(), usd);
        prop_assert_eq!(stored.amount, money.amount);
    }
}
