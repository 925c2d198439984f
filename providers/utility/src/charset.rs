//! The random text of `random_string` and `random_password`, built as the provider builds
//! it: first each class's minimum count drawn from that class (the minimums apply even to
//! a class switched off, as in the provider), the rest drawn from every class switched on,
//! then the whole shuffled.

use forge_provider::ProviderError;

use crate::entropy::Entropy;

pub(crate) const DIGITS: &str = "0123456789";
pub(crate) const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
pub(crate) const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// The provider's special characters, unless `override_special` names others.
pub(crate) const SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";

/// What to draw: the arguments of `random_string` / `random_password`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TextRules {
    pub length: usize,
    pub upper: bool,
    pub lower: bool,
    pub numeric: bool,
    pub special: bool,
    pub min_upper: usize,
    pub min_lower: usize,
    pub min_numeric: usize,
    pub min_special: usize,
    /// An empty override means the default set, as in the provider.
    pub override_special: String,
}

impl TextRules {
    pub(crate) fn special_set(&self) -> &str {
        if self.override_special.is_empty() {
            SPECIAL
        } else {
            &self.override_special
        }
    }

    /// Every character the rest of the text is drawn from.
    fn pool(&self) -> String {
        let mut pool = String::new();
        for (on, set) in [
            (self.upper, UPPER),
            (self.lower, LOWER),
            (self.numeric, DIGITS),
            (self.special, self.special_set()),
        ] {
            if on {
                pool.push_str(set);
            }
        }
        pool
    }

    /// The minimums' sum: `length` must be at least this.
    pub(crate) fn minimums(&self) -> usize {
        self.min_upper + self.min_lower + self.min_numeric + self.min_special
    }
}

/// Draws a text by `rules`.
pub(crate) fn generate(
    rules: &TextRules,
    source: &mut dyn Entropy,
) -> Result<String, ProviderError> {
    let pool: Vec<char> = rules.pool().chars().collect();
    if pool.is_empty() {
        return Err(ProviderError::new("the character set specified is empty")
            .hint("set at least one of upper, lower, numeric (number) or special to true"));
    }
    if rules.minimums() > rules.length {
        return Err(ProviderError::new(format!(
            "length ({}) must be at least the sum of min_upper, min_lower, min_numeric and min_special ({})",
            rules.length,
            rules.minimums()
        )));
    }
    let mut out: Vec<char> = Vec::with_capacity(rules.length);
    for (set, count) in [
        (DIGITS, rules.min_numeric),
        (LOWER, rules.min_lower),
        (UPPER, rules.min_upper),
        (rules.special_set(), rules.min_special),
    ] {
        draw(&set.chars().collect::<Vec<_>>(), count, source, &mut out)?;
    }
    let rest = rules.length - out.len();
    draw(&pool, rest, source, &mut out)?;
    let order = source.permutation(out.len())?;
    Ok(order.into_iter().map(|i| out[i]).collect())
}

fn draw(
    set: &[char],
    count: usize,
    source: &mut dyn Entropy,
    out: &mut Vec<char>,
) -> Result<(), ProviderError> {
    if count == 0 {
        return Ok(());
    }
    if set.is_empty() {
        return Err(ProviderError::new("the character set specified is empty"));
    }
    for _ in 0..count {
        let i = source.below(set.len() as u64)? as usize;
        out.push(set[i]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::OsEntropy;

    fn rules() -> TextRules {
        TextRules {
            length: 16,
            upper: true,
            lower: true,
            numeric: true,
            special: true,
            ..TextRules::default()
        }
    }

    fn count(s: &str, set: &str) -> usize {
        s.chars().filter(|c| set.contains(*c)).count()
    }

    #[test]
    fn the_text_has_the_length_and_only_characters_of_the_classes_switched_on() {
        for _ in 0..50 {
            let s = generate(&rules(), &mut OsEntropy).expect("text");
            assert_eq!(s.chars().count(), 16);
            assert!(
                s.chars()
                    .all(|c| format!("{UPPER}{LOWER}{DIGITS}{SPECIAL}").contains(c))
            );
        }
        let only_lower = TextRules {
            upper: false,
            numeric: false,
            special: false,
            length: 40,
            ..rules()
        };
        let s = generate(&only_lower, &mut OsEntropy).expect("text");
        assert_eq!(count(&s, LOWER), 40, "{s}");
    }

    #[test]
    fn minimum_counts_are_met_even_for_a_class_switched_off() {
        let r = TextRules {
            length: 12,
            special: false,
            min_upper: 3,
            min_numeric: 4,
            min_special: 2,
            ..rules()
        };
        for _ in 0..50 {
            let s = generate(&r, &mut OsEntropy).expect("text");
            assert!(count(&s, UPPER) >= 3, "{s}");
            assert!(count(&s, DIGITS) >= 4, "{s}");
            assert!(count(&s, SPECIAL) >= 2, "{s}");
        }
    }

    #[test]
    fn override_special_replaces_the_special_characters() {
        let r = TextRules {
            length: 30,
            upper: false,
            lower: false,
            numeric: false,
            override_special: "_%".to_string(),
            ..rules()
        };
        let s = generate(&r, &mut OsEntropy).expect("text");
        assert!(s.chars().all(|c| c == '_' || c == '%'), "{s}");
    }

    #[test]
    fn an_empty_set_and_too_short_a_length_are_errors() {
        let none = TextRules {
            upper: false,
            lower: false,
            numeric: false,
            special: false,
            ..rules()
        };
        assert!(generate(&none, &mut OsEntropy).is_err());
        let short = TextRules {
            length: 2,
            min_lower: 3,
            ..rules()
        };
        let e = generate(&short, &mut OsEntropy).expect_err("too short");
        assert!(e.message.contains("at least the sum"), "{}", e.message);
    }
}
