//! Money in integer minor units: parsing an amount a customer typed,
//! formatting one for an email. Never a float.

/// Digits after the decimal point in a currency's major unit (ISO 4217).
pub fn minor_unit_exponent(currency_code: &str) -> u32 {
    match currency_code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Whether `s` is a plain decimal number: optional minus, digits, optionally a point and digits.
pub fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty())
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

/// The exact decimal form of minor units (`1250` EUR → `"12.50"`).
pub fn format_minor(minor: i64, currency_code: &str) -> String {
    // By hand rather than with `format!`: one of these per price on every
    // menu page, and `fmt` costs several times the digits themselves.
    let exponent = minor_unit_exponent(currency_code) as usize;
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(minor.unsigned_abs());
    let mut out = String::with_capacity(digits.len() + exponent + 3);
    if minor < 0 {
        out.push('-');
    }
    if exponent == 0 {
        out.push_str(digits);
        return out;
    }
    let (whole, fraction) = digits.split_at(digits.len().saturating_sub(exponent));
    out.push_str(if whole.is_empty() { "0" } else { whole });
    out.push('.');
    out.extend(std::iter::repeat_n('0', exponent - fraction.len()));
    out.push_str(fraction);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_become_exact_decimal_strings() {
        assert_eq!(format_minor(1250, "EUR"), "12.50");
        assert_eq!(format_minor(5, "USD"), "0.05");
        assert_eq!(format_minor(-199, "USD"), "-1.99");
        assert_eq!(format_minor(1200, "JPY"), "1200");
        assert_eq!(format_minor(1234, "KWD"), "1.234");
        assert_eq!(format_minor(0, "EUR"), "0.00");
        assert_eq!(format_minor(-5, "KWD"), "-0.005");
        assert_eq!(format_minor(-7, "JPY"), "-7");
        assert_eq!(format_minor(i64::MIN, "EUR"), "-92233720368547758.08");
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
        assert!(is_decimal("12.50") && is_decimal("-3") && is_decimal("0.1"));
        assert!(!is_decimal("1.") && !is_decimal(".5") && !is_decimal("1e3") && !is_decimal(""));
    }
}
