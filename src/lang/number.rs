//! Numbers as Terraform writes them in text: `tostring`, interpolation, the console and
//! every function that turns a number into a string agree on one rendering.

/// A number as Terraform writes it in strings: integers in full, fractions in plain
/// decimal notation. Terraform computes with arbitrary precision where forge uses f64, so
/// fractions are rounded to 15 significant digits, which hides binary rounding noise
/// (`0.1 + 0.2` is `0.3`, as in Terraform).
pub fn number_text(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if n.fract() == 0.0 && n.abs() < 1e21 {
        if n == 0.0 && n.is_sign_negative() {
            return "-0".into();
        }
        return format!("{n:.0}");
    }
    let sci = format!("{n:.14e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    // The decimal point goes after digit number `exp + 1`.
    let point = exp + 1;
    let mut text = String::new();
    if point <= 0 {
        text.push_str("0.");
        text.push_str(&"0".repeat(point.unsigned_abs() as usize));
        text.push_str(digits);
    } else if (point as usize) >= digits.len() {
        text.push_str(digits);
        text.push_str(&"0".repeat(point as usize - digits.len()));
    } else {
        text.push_str(&digits[..point as usize]);
        text.push('.');
        text.push_str(&digits[point as usize..]);
    }
    if negative { format!("-{text}") } else { text }
}
