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

fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty())
}

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

/// An amount of money in one currency.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// The amount in the currency's major unit, exact, as a decimal string (for example "12.50").
    pub amount: Decimal,
    /// The currency.
    pub currency_code: CurrencyCode,
}

impl Money {
    /// From integer minor units (cents) of `currency_code`.
    pub fn from_minor(minor: i64, currency_code: &str) -> Self {
        let exponent = minor_unit_exponent(currency_code);
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        let amount = if exponent == 0 {
            format!("{sign}{abs}")
        } else {
            let scale = 10u64.pow(exponent);
            format!(
                "{sign}{}.{:0width$}",
                abs / scale,
                abs % scale,
                width = exponent as usize
            )
        };
        Self {
            amount: Decimal(amount),
            currency_code: CurrencyCode(currency_code.to_owned()),
        }
    }
}

/// Exact integer minor units of a decimal amount in `currency_code`
/// (`"12.5"` EUR → 1250); `None` when it has more decimals than the
/// currency allows or does not fit.
pub fn to_minor(amount: &str, currency_code: &str) -> Option<i64> {
    if !is_decimal(amount) {
        return None;
    }
    let exponent = minor_unit_exponent(currency_code);
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if fraction.len() > exponent as usize {
        return None;
    }
    let scale = 10i64.checked_pow(exponent)?;
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<width$}", width = exponent as usize)
            .parse()
            .ok()?
    };
    let minor = whole.checked_mul(scale)?.checked_add(fraction)?;
    Some(if negative { -minor } else { minor })
}

/// Digits after the decimal point in a currency's major unit (ISO 4217).
fn minor_unit_exponent(currency_code: &str) -> u32 {
    match currency_code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_become_exact_decimal_strings() {
        assert_eq!(Money::from_minor(1250, "EUR").amount.0, "12.50");
        assert_eq!(Money::from_minor(5, "USD").amount.0, "0.05");
        assert_eq!(Money::from_minor(-199, "USD").amount.0, "-1.99");
        assert_eq!(Money::from_minor(1200, "JPY").amount.0, "1200");
        assert_eq!(Money::from_minor(1234, "KWD").amount.0, "1.234");
    }

    #[test]
    fn decimal_amounts_become_exact_minor_units() {
        assert_eq!(to_minor("12.5", "EUR"), Some(1250));
        assert_eq!(to_minor("12.50", "EUR"), Some(1250));
        assert_eq!(to_minor("0.05", "USD"), Some(5));
        assert_eq!(to_minor("-1.99", "USD"), Some(-199));
        assert_eq!(to_minor("1200", "JPY"), Some(1200));
        assert_eq!(to_minor("1.5", "JPY"), None);
        assert_eq!(to_minor("1.234", "EUR"), None);
        assert_eq!(to_minor("1e3", "EUR"), None);
        assert_eq!(to_minor("99999999999999999999", "EUR"), None);
    }

    #[test]
    fn decimal_input_is_checked() {
        assert!(is_decimal("12.50") && is_decimal("-3") && is_decimal("0.1"));
        assert!(!is_decimal("1.") && !is_decimal(".5") && !is_decimal("1e3") && !is_decimal(""));
    }
}
