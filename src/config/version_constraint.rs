//! Version constraints as Terraform writes them: `required_version`, a
//! `required_providers` entry's `version`, Terragrunt's `terraform_version_constraint`.
//! A constraint is clauses separated by commas, all of which must hold; a clause is an
//! operator (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~>`; none means `=`) and a version of one
//! to three numbers with an optional `-prerelease` and `+metadata`. `~> 1.2` allows 1.2
//! up to (not including) 2.0, `~> 1.2.3` allows 1.2.3 up to 1.3.0: the last number given
//! may grow.

use std::cmp::Ordering;
use std::fmt;

/// A version: three numbers (missing ones are 0) and a prerelease label, which sorts
/// before the release of the same numbers. Build metadata is dropped, as it does not
/// order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    numbers: [u64; 3],
    prerelease: Option<String>,
}

/// A parsed constraint, with its text for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionConstraint {
    clauses: Vec<Clause>,
    text: String,
}

impl Version {
    /// `1`, `1.5`, `1.5.7`, `v1.5.7`, `1.6.0-beta2`, `5.100.0+build`.
    pub fn parse(text: &str) -> Result<Version, String> {
        let bad = || format!("`{text}` is not a version (write it as 1.5.7)");
        let body = text.trim();
        let body = body.strip_prefix('v').unwrap_or(body);
        let body = body.split_once('+').map_or(body, |(b, _)| b);
        let (core, prerelease) = match body.split_once('-') {
            Some((core, pre)) if !pre.is_empty() => (core, Some(pre.to_string())),
            Some(_) => return Err(bad()),
            None => (body, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(bad());
        }
        let mut numbers = [0u64; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            *slot = part.parse().map_err(|_| bad())?;
        }
        Ok(Version {
            numbers,
            prerelease,
        })
    }

    fn release(numbers: [u64; 3]) -> Version {
        Version {
            numbers,
            prerelease: None,
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers
            .cmp(&other.numbers)
            .then_with(|| match (&self.prerelease, &other.prerelease) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => compare_prerelease(a, b),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.numbers;
        write!(f, "{a}.{b}.{c}")?;
        if let Some(pre) = &self.prerelease {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

/// Prerelease labels by dot-separated parts: numbers numerically and before words, words
/// by their text, a shorter label first when one is a prefix of the other (semver's rule).
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    /// `~>`: at least the version, below the next increment of its second-to-last number.
    Pessimistic,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Clause {
    operator: Operator,
    version: Version,
    /// How many numbers the clause's version was written with (`~>` depends on it).
    written_numbers: usize,
}

impl Clause {
    fn parse(text: &str) -> Result<Clause, String> {
        let text = text.trim();
        // Longest operators first, so `>=` is not read as `>` then `=1.0`.
        let operators = [
            ("~>", Operator::Pessimistic),
            (">=", Operator::GreaterOrEqual),
            ("<=", Operator::LessOrEqual),
            ("!=", Operator::NotEqual),
            (">", Operator::Greater),
            ("<", Operator::Less),
            ("=", Operator::Equal),
        ];
        let (operator, rest) = operators
            .iter()
            .find_map(|(symbol, op)| text.strip_prefix(symbol).map(|rest| (*op, rest)))
            .unwrap_or((Operator::Equal, text));
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(format!("`{text}` has an operator but no version"));
        }
        let version = Version::parse(rest)?;
        let core = rest.split(['-', '+']).next().unwrap_or(rest);
        Ok(Clause {
            operator,
            version,
            written_numbers: core.split('.').count(),
        })
    }

    fn allows(&self, v: &Version) -> bool {
        let c = &self.version;
        match self.operator {
            Operator::Equal => v == c,
            Operator::NotEqual => v != c,
            Operator::Greater => v > c,
            Operator::GreaterOrEqual => v >= c,
            Operator::Less => v < c,
            Operator::LessOrEqual => v <= c,
            Operator::Pessimistic => {
                let [major, minor, _] = c.numbers;
                let below = if self.written_numbers >= 3 {
                    Version::release([major, minor + 1, 0])
                } else {
                    Version::release([major + 1, 0, 0])
                };
                v >= c && *v < below
            }
        }
    }
}

impl VersionConstraint {
    /// `">= 1.5, < 2.0"`, `"~> 5.0"`, `"1.5.7"`.
    pub fn parse(text: &str) -> Result<VersionConstraint, String> {
        if text.trim().is_empty() {
            return Err("the version constraint is empty".into());
        }
        let clauses = text
            .split(',')
            .map(Clause::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(VersionConstraint {
            clauses,
            text: text.trim().to_string(),
        })
    }

    /// Whether every clause holds for `version`. A prerelease is allowed only by a
    /// clause that names a prerelease of the same numbers, as Terraform decides.
    pub fn allows(&self, version: &Version) -> bool {
        if version.prerelease.is_some()
            && !self
                .clauses
                .iter()
                .any(|c| c.version.prerelease.is_some() && c.version.numbers == version.numbers)
        {
            return false;
        }
        self.clauses.iter().all(|c| c.allows(version))
    }

    /// Whether some release from `lowest` to `highest` (both included) meets the
    /// constraint. Every patch number up to 99 of each minor version in between is
    /// tried: more than any Terraform minor version has had.
    pub fn allows_a_release_between(&self, lowest: &Version, highest: &Version) -> bool {
        let [major_lo, minor_lo, _] = lowest.numbers;
        let [major_hi, minor_hi, _] = highest.numbers;
        (major_lo..=major_hi).any(|major| {
            let minors = if major == major_lo { minor_lo } else { 0 }..=if major == major_hi {
                minor_hi
            } else {
                99
            };
            minors.into_iter().any(|minor| {
                (0..100).any(|patch| {
                    let v = Version::release([major, minor, patch]);
                    v >= *lowest && v <= *highest && self.allows(&v)
                })
            })
        })
    }
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(constraint: &str, version: &str) -> bool {
        VersionConstraint::parse(constraint)
            .expect("constraint")
            .allows(&Version::parse(version).expect("version"))
    }

    /// Cases as Terraform's version constraints document them
    /// (developer.hashicorp.com/terraform/language/expressions/version-constraints).
    #[test]
    fn clauses_hold_as_terraform_documents_them() {
        let cases = [
            ("1.5.7", "1.5.7", true),
            ("= 1.5.7", "1.5.8", false),
            ("!= 1.5.7", "1.5.8", true),
            (">= 1.5", "1.11.4", true),
            ("> 1.11.4", "1.11.4", false),
            ("< 2.0.0", "1.11.4", true),
            ("<= 1.5", "1.5.0", true),
            ("~> 1.5", "1.11.4", true),
            ("~> 1.5", "2.0.0", false),
            ("~> 1.5.0", "1.5.9", true),
            ("~> 1.5.0", "1.6.0", false),
            ("~> 5.0", "5.100.0", true),
            ("~> 4.67", "5.100.0", false),
            (">= 1.3, < 1.6", "1.5.7", true),
            (">= 1.3, < 1.6", "1.6.0", false),
            ("~> 1", "1.11.4", true),
            ("~> 1", "2.0.0", false),
            (">= 1.6.0-beta1", "1.6.0", true),
            (">= 1.6.0", "1.6.0-beta1", false),
            ("= 1.6.0-beta1", "1.6.0-beta1", true),
            ("v1.5.7", "1.5.7", true),
        ];
        for (constraint, version, expected) in cases {
            assert_eq!(
                allows(constraint, version),
                expected,
                "{constraint} for {version}"
            );
        }
    }

    #[test]
    fn a_range_of_releases_is_searched() {
        let lowest = Version::parse("1.5.7").expect("version");
        let highest = Version::parse("1.11.4").expect("version");
        let meets = |c: &str| {
            VersionConstraint::parse(c)
                .expect("constraint")
                .allows_a_release_between(&lowest, &highest)
        };
        assert!(meets(">= 1.0"));
        assert!(meets("~> 1.9.0"));
        assert!(meets("= 1.6.3"));
        assert!(meets(">= 1.3, < 1.6"));
        assert!(!meets(">= 1.12"));
        assert!(!meets("~> 1.4.0"));
        assert!(!meets("< 1.5.7"));
        assert!(!meets(">= 2.0"));
    }

    #[test]
    fn malformed_constraints_say_what_is_wrong() {
        for bad in ["", ">=", "1.2.3.4", "one", ">= 1.x", "1.2-"] {
            let e = VersionConstraint::parse(bad).expect_err(bad);
            assert!(!e.is_empty(), "{bad}");
        }
    }
}
