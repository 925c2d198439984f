//! Glob patterns for `fileset`: `*` (within one path segment), `**` (any number of
//! segments), `?`, character classes `[abc]` / `[a-z]` / `[!x]`, and alternatives `{a,b}`.
//!
//! A pattern is compiled once per call; matching is the classic wildcard walk that only
//! ever backtracks to the last star, so no pattern (`*a*a*a*a*b`, `**/**/**/x`) takes
//! more than time proportional to pattern length times path length, and `{a,b}`
//! alternatives expand to at most [`MAX_GLOB_PATTERNS`] patterns.

use super::FnError;
use super::limits::MAX_GLOB_PATTERNS;

/// A compiled pattern: one entry per alternative its braces expand to.
pub(super) struct Glob {
    alternatives: Vec<Vec<Segment>>,
}

impl Glob {
    pub(super) fn new(pattern: &str) -> Result<Glob, FnError> {
        let mut expanded = Vec::new();
        expand_braces(pattern, &mut expanded)?;
        let alternatives = expanded
            .iter()
            .map(|p| p.split('/').map(Segment::parse).collect())
            .collect();
        Ok(Glob { alternatives })
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub(super) fn matches(&self, path: &str) -> bool {
        let segs: Vec<Vec<char>> = path.split('/').map(|s| s.chars().collect()).collect();
        self.alternatives.iter().any(|pat| {
            wildcard(
                pat,
                &segs,
                |p| matches!(p, Segment::AnySegments),
                |p, s| match p {
                    Segment::One(toks) => wildcard(toks, s, |t| matches!(t, Tok::Star), Tok::hit),
                    Segment::AnySegments => false,
                },
            )
        })
    }
}

/// One `/`-separated part of a pattern.
enum Segment {
    /// `**`: any number of segments, none included.
    AnySegments,
    One(Vec<Tok>),
}

/// One token of a segment; every token but `Star` matches exactly one character.
enum Tok {
    Star,
    AnyChar,
    Class {
        negate: bool,
        ranges: Vec<(char, char)>,
    },
    Lit(char),
}

impl Segment {
    fn parse(text: &str) -> Segment {
        if text == "**" {
            return Segment::AnySegments;
        }
        let chars: Vec<char> = text.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::AnyChar),
                '\\' if i + 1 < chars.len() => {
                    i += 1;
                    toks.push(Tok::Lit(chars[i]));
                }
                '[' => match chars[i + 1..].iter().position(|c| *c == ']') {
                    // An unclosed `[` is a literal, as Terraform's matcher treats it.
                    None => toks.push(Tok::Lit('[')),
                    Some(len) => {
                        let body = &chars[i + 1..i + 1 + len];
                        let (negate, class) = match body.split_first() {
                            Some(('!' | '^', class)) => (true, class),
                            _ => (false, body),
                        };
                        let mut ranges = Vec::new();
                        let mut j = 0;
                        while j < class.len() {
                            if j + 2 < class.len() && class[j + 1] == '-' {
                                ranges.push((class[j], class[j + 2]));
                                j += 3;
                            } else {
                                ranges.push((class[j], class[j]));
                                j += 1;
                            }
                        }
                        toks.push(Tok::Class { negate, ranges });
                        i += len + 1;
                    }
                },
                c => toks.push(Tok::Lit(c)),
            }
            i += 1;
        }
        Segment::One(toks)
    }
}

impl Tok {
    fn hit(&self, c: &char) -> bool {
        match self {
            Tok::Star => false,
            Tok::AnyChar => true,
            Tok::Lit(l) => l == c,
            Tok::Class { negate, ranges } => {
                ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negate
            }
        }
    }
}

/// Whether `items` match `pat`, where a star matches any run of items and every other
/// element exactly one. Backtracks only to the most recent star.
fn wildcard<P, S>(
    pat: &[P],
    items: &[S],
    is_star: impl Fn(&P) -> bool,
    hit: impl Fn(&P, &S) -> bool,
) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while i < items.len() {
        if p < pat.len() && is_star(&pat[p]) {
            last_star = Some((p, i));
            p += 1;
        } else if p < pat.len() && hit(&pat[p], &items[i]) {
            p += 1;
            i += 1;
        } else if let Some((star, from)) = last_star {
            // Let the star take one more item and try again after it.
            p = star + 1;
            i = from + 1;
            last_star = Some((star, from + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(is_star)
}

/// `{a,b}c` becomes `ac` and `bc` (nested braces expand too), appended to `out`.
fn expand_braces(pattern: &str, out: &mut Vec<String>) -> Result<(), FnError> {
    let Some((head, alternatives, tail)) = first_group(pattern) else {
        if out.len() >= MAX_GLOB_PATTERNS {
            return Err(FnError::new(format!(
                "the pattern's {{...}} alternatives expand to more than {MAX_GLOB_PATTERNS} patterns, forge's limit"
            ))
            .arg(1));
        }
        out.push(pattern.to_string());
        return Ok(());
    };
    for alt in alternatives {
        expand_braces(&format!("{head}{alt}{tail}"), out)?;
    }
    Ok(())
}

/// The text before the first `{...}` group, its top-level alternatives, and the text
/// after it; `None` when there is no closed group.
fn first_group(pattern: &str) -> Option<(&str, Vec<&str>, &str)> {
    let open = pattern.find('{')?;
    let mut depth = 0;
    let mut close = None;
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    let body = &pattern[open + 1..close];
    let mut alternatives = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                alternatives.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    alternatives.push(&body[start..]);
    Some((&pattern[..open], alternatives, &pattern[close + 1..]))
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn matches(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).expect("pattern").matches(path)
    }

    #[test]
    fn globs_match_like_terraform_fileset() {
        assert!(matches("*.txt", "a.txt"));
        assert!(!matches("*.txt", "dir/a.txt"));
        assert!(matches("**/*.txt", "dir/sub/a.txt"));
        assert!(matches("**/*.txt", "a.txt"));
        assert!(matches("dir/?.{txt,md}", "dir/a.md"));
        assert!(matches("[a-c]*", "banana"));
        assert!(!matches("[!a-c]*", "banana"));
        assert!(!matches("*.txt", "a.tpl"));
        assert!(matches("a/**/b/**/c", "a/x/b/y/z/c"));
        assert!(!matches("a/**/b/**/c", "a/x/c"));
        assert!(matches("{a,{b,c}}.tf", "c.tf"));
        assert!(matches("x\\*", "x*"));
        assert!(!matches("x\\*", "xy"));
    }

    #[test]
    fn pathological_patterns_are_bounded() {
        // Exponential for a naive backtracking matcher; immediate here.
        let long = "a".repeat(200);
        assert!(!matches(&format!("{}b", "*a".repeat(30)), &long));
        let deep = vec!["a"; 200].join("/");
        assert!(!matches(&format!("{}b", "**/".repeat(30)), &deep));
        // 40 `{a,b}` groups would be 2^40 patterns.
        let bomb = "{a,b}".repeat(40);
        let err = Glob::new(&bomb).err().expect("over the limit");
        assert!(
            err.message.contains("more than 10000 patterns"),
            "{}",
            err.message
        );
    }
}
