//! Money: integer minor units in storage, an exact decimal string in the API. Never a float.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};

/// An exact decimal number, serialised as a string (for example `"12.50"`), so no client parses money as a float.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(pub String);

#[Scalar(name = "Decimal")]
/// An exact decimal number, serialised as a string such as "12.50" so that no client parses money as a float.
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) if is_decimal(&s) => Ok(Decimal(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

use bistro_data::money::is_decimal;
pub use bistro_data::money::to_minor;

/// A three-letter ISO 4217 currency code such as "EUR".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyCode(pub String);

#[Scalar(name = "CurrencyCode")]
/// A three-letter ISO 4217 currency code such as "EUR".
impl ScalarType for CurrencyCode {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) => {
                Ok(CurrencyCode(s))
            }
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

// `@shareable` in the subgraph SDL: a value type other subgraphs of a
// supergraph may define and resolve too (a delivery fee, say).
/// An amount of money in one currency.
///
/// Cache: as its parent.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(shareable, serial)]
pub struct Money {
    /// The amount in the currency's major unit, exact, as a decimal string (for example "12.50").
    pub amount: Decimal,
    /// The currency.
    pub currency_code: CurrencyCode,
}

impl Money {
    /// From integer minor units (cents) of `currency_code`.
    pub fn from_minor(minor: i64, currency_code: &str) -> Self {
        Self {
            amount: Decimal(bistro_data::money::format_minor(minor, currency_code)),
            currency_code: CurrencyCode(currency_code.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_an_exact_decimal_string_with_its_currency() {
        let money = Money::from_minor(1250, "EUR");
        assert_eq!(money.amount.0, "12.50");
        assert_eq!(money.currency_code.0, "EUR");
    }
}
