//! Glob patterns for `fileset`: `*` (within one path segment), `**` (any number of
//! segments), `?`, character classes `[abc]` / `[a-z]` / `[!x]`, and alternatives `{a,b}`.

/// Whether `path` (relative, `/`-separated) matches `pattern`.
pub(super) fn matches(pattern: &str, path: &str) -> bool {
    expand_braces(pattern).iter().any(|p| {
        let pat: Vec<&str> = p.split('/').collect();
        let segs: Vec<&str> = path.split('/').collect();
        match_segments(&pat, &segs)
    })
}

/// `{a,b}c` becomes `ac` and `bc` (nested braces expand too).
fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
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
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (head, body, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
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
    alternatives
        .into_iter()
        .flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}")))
        .collect()
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|skip| match_segments(rest, &segs[skip..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, srest)) => {
                match_segment(
                    &p.chars().collect::<Vec<_>>(),
                    &s.chars().collect::<Vec<_>>(),
                ) && match_segments(rest, srest)
            }
            None => false,
        },
    }
}

fn match_segment(p: &[char], s: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('*', rest)) => (0..=s.len()).any(|skip| match_segment(rest, &s[skip..])),
        Some(('?', rest)) => !s.is_empty() && match_segment(rest, &s[1..]),
        Some(('[', rest)) => {
            let Some(end) = rest.iter().position(|c| *c == ']') else {
                return s.first() == Some(&'[') && match_segment(rest, &s[1..]);
            };
            let Some(&c) = s.first() else { return false };
            let (negate, class) = match rest[..end].split_first() {
                Some(('!' | '^', class)) => (true, class),
                _ => (false, &rest[..end]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && match_segment(&rest[end + 1..], &s[1..])
        }
        Some(('\\', rest)) if !rest.is_empty() => {
            s.first() == Some(&rest[0]) && match_segment(&rest[1..], &s[1..])
        }
        Some((c, rest)) => s.first() == Some(c) && match_segment(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

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
    }
}
