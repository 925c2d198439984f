//! Terraform's structured notation for values that span lines: a string holding a JSON
//! object or array is shown as `jsonencode(...)` with the document laid out as HCL and,
//! when it changes, diffed inside (only the changed keys marked, unchanged ones counted);
//! a string with line breaks is a `<<-EOT` heredoc; collections open one element a line.
//! Plans use it for JSON strings; `forge state show` for every attribute value.
//!
//! Layout: each rendered line has a text column `k`. A plan puts the line's sign two
//! columns left of `k` (`+`, `-`, `~`, or a blank); `state show` has no signs. A
//! collection opened on a line of column `k` lists its members at `k + 4` and closes at
//! `k`; `jsonencode(` puts the document at `k + 4` and its `)` at `k`. These are the
//! columns Terraform 1.11 prints (checked against `terraform plan` and `state show`).
//!
//! Sensitive values never get here as strings: the caller passes a marked value as the
//! opaque text `(sensitive value)`.

use forge_provider::Value;

/// What happened to one node, as Terraform names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    NoOp,
    Create,
    Delete,
    Update,
}

impl Act {
    fn sign(self) -> char {
        match self {
            Act::NoOp => ' ',
            Act::Create => '+',
            Act::Delete => '-',
            Act::Update => '~',
        }
    }

    /// The action of a collection from its members' (Terraform's CompareActions): a kept
    /// collection with any changed member is updated.
    fn fold(self, member: Act) -> Act {
        if member == Act::NoOp || member == self {
            self
        } else {
            Act::Update
        }
    }
}

/// A value as this renderer sees it: a JSON document or a forge value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tree {
    Null,
    Bool(bool),
    /// Already spelled as Terraform prints it (no exponent).
    Number(String),
    String(String),
    /// Printed as it is: `(sensitive value)`, `(known after apply)`.
    Opaque(&'static str),
    /// `quoted`: a map, whose keys Terraform always quotes; an object's keys are quoted
    /// only when they are not identifiers.
    Object {
        members: Vec<(String, Tree)>,
        quoted: bool,
    },
    Array(Vec<Tree>),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    Opaque,
    Object,
    Array,
}

fn kind(t: Option<&Tree>) -> Kind {
    match t {
        None | Some(Tree::Null) => Kind::Null,
        Some(Tree::Bool(_)) => Kind::Bool,
        Some(Tree::Number(_)) => Kind::Number,
        Some(Tree::String(_)) => Kind::String,
        Some(Tree::Opaque(_)) => Kind::Opaque,
        Some(Tree::Object { .. }) => Kind::Object,
        Some(Tree::Array(_)) => Kind::Array,
    }
}

impl Tree {
    pub(crate) fn from_json(j: &serde_json::Value) -> Tree {
        match j {
            serde_json::Value::Null => Tree::Null,
            serde_json::Value::Bool(b) => Tree::Bool(*b),
            serde_json::Value::Number(n) => Tree::Number(json_number(n)),
            serde_json::Value::String(s) => Tree::String(s.clone()),
            serde_json::Value::Array(xs) => Tree::Array(xs.iter().map(Tree::from_json).collect()),
            serde_json::Value::Object(m) => {
                let mut members: Vec<(String, Tree)> = m
                    .iter()
                    .map(|(k, v)| (k.clone(), Tree::from_json(v)))
                    .collect();
                members.sort_by(|a, b| a.0.cmp(&b.0));
                Tree::Object {
                    members,
                    quoted: false,
                }
            }
        }
    }

    pub(crate) fn from_value(v: &Value) -> Tree {
        match v {
            Value::Null => Tree::Null,
            Value::Unknown => Tree::Opaque("(known after apply)"),
            Value::Sensitive(_) => Tree::Opaque("(sensitive value)"),
            Value::Bool(b) => Tree::Bool(*b),
            Value::Number(n) => Tree::Number(value_number(*n)),
            Value::String(s) => Tree::String(s.clone()),
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
                Tree::Array(xs.iter().map(Tree::from_value).collect())
            }
            Value::Object(m) | Value::Map(m) => Tree::Object {
                members: m
                    .iter()
                    .map(|(k, x)| (k.clone(), Tree::from_value(x)))
                    .collect(),
                quoted: matches!(v, Value::Map(_)),
            },
        }
    }
}

fn json_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        // Rust's `Display` for f64 never uses an exponent, as Terraform's big numbers don't.
        n.as_f64()
            .map(|f| f.to_string())
            .unwrap_or_else(|| n.to_string())
    }
}

fn value_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        (n as i64).to_string()
    } else {
        n.to_string()
    }
}

/// A string Terraform shows as `jsonencode(...)`: one that starts with `{` or `[` and
/// parses as JSON. Scalars (`"42"`, `"\"a\""`) stay strings, as in Terraform.
pub(crate) fn json_document(s: &str) -> Option<serde_json::Value> {
    if !(s.starts_with('{') || s.starts_with('[')) {
        return None;
    }
    serde_json::from_str(s).ok()
}

/// One node of a diff.
#[derive(Debug)]
pub(crate) struct Diff {
    act: Act,
    shape: Shape,
}

#[derive(Debug)]
enum Shape {
    Leaf {
        before: Option<Tree>,
        after: Option<Tree>,
    },
    Object {
        members: Vec<(String, Diff)>,
        quoted: bool,
    },
    Array(Vec<Diff>),
    /// The value changed kind (a string became a list): shown as `before -> after`.
    KindChange(Box<Diff>, Box<Diff>),
}

/// The diff of `before` and `after`; `None` means absent (created or deleted), unlike
/// `Some(Tree::Null)`, an explicit null.
pub(crate) fn diff(before: Option<&Tree>, after: Option<&Tree>) -> Diff {
    let (bk, ak) = (kind(before), kind(after));
    let created = bk == Kind::Null && before.is_none();
    let deleted = ak == Kind::Null && after.is_none();
    if bk == ak || created || deleted {
        let target = if bk == Kind::Null { ak } else { bk };
        return diff_of_kind(before, after, target);
    }
    let b = diff_of_kind(before, None, bk);
    let a = diff_of_kind(None, after, ak);
    Diff {
        act: Act::Update,
        shape: Shape::KindChange(Box::new(b), Box::new(a)),
    }
}

fn diff_of_kind(before: Option<&Tree>, after: Option<&Tree>, kind: Kind) -> Diff {
    match kind {
        Kind::Object => {
            let (bm, am) = (members_of(before), members_of(after));
            let mut act = match (bm, am) {
                (Some(_), None) => Act::Delete,
                (None, Some(_)) => Act::Create,
                _ => Act::NoOp,
            };
            // State read back without its schema holds maps as objects: either side being
            // a map says the attribute is one.
            let quoted = bm.is_some_and(|(_, q)| q) || am.is_some_and(|(_, q)| q);
            let mut keys: Vec<&String> = bm
                .into_iter()
                .chain(am)
                .flat_map(|(xs, _)| xs.iter().map(|(k, _)| k))
                .collect();
            keys.sort();
            keys.dedup();
            let mut out = Vec::new();
            for k in keys {
                let d = diff(member(bm, k), member(am, k));
                act = act.fold(d.act);
                out.push((k.clone(), d));
            }
            Diff {
                act,
                shape: Shape::Object {
                    members: out,
                    quoted,
                },
            }
        }
        Kind::Array => {
            let (bx, ax) = (items_of(before), items_of(after));
            let mut act = match (bx, ax) {
                (Some(_), None) => Act::Delete,
                (None, Some(_)) => Act::Create,
                _ => Act::NoOp,
            };
            let (bs, as_) = (bx.unwrap_or(&[]), ax.unwrap_or(&[]));
            let mut out = Vec::new();
            for (i, j) in pair_up(bs, as_, |t| matches!(t, Tree::Object { .. })) {
                let d = diff(i.map(|i| &bs[i]), j.map(|j| &as_[j]));
                act = act.fold(d.act);
                out.push(d);
            }
            Diff {
                act,
                shape: Shape::Array(out),
            }
        }
        _ => {
            let act = match (before, after) {
                (None, Some(_)) => Act::Create,
                (Some(_), None) => Act::Delete,
                (b, a) if b == a => Act::NoOp,
                _ => Act::Update,
            };
            Diff {
                act,
                shape: Shape::Leaf {
                    before: before.cloned(),
                    after: after.cloned(),
                },
            }
        }
    }
}

type Members<'a> = Option<(&'a [(String, Tree)], bool)>;

fn members_of(t: Option<&Tree>) -> Members<'_> {
    match t {
        Some(Tree::Object { members, quoted }) => Some((members.as_slice(), *quoted)),
        _ => None,
    }
}

fn member<'a>(m: Members<'a>, k: &str) -> Option<&'a Tree> {
    m.and_then(|(xs, _)| xs.iter().find(|(n, _)| n == k).map(|(_, t)| t))
}

fn items_of(t: Option<&Tree>) -> Option<&[Tree]> {
    match t {
        Some(Tree::Array(xs)) => Some(xs.as_slice()),
        _ => None,
    }
}

fn text_of(t: Option<&Tree>) -> Option<&str> {
    match t {
        Some(Tree::String(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// Which elements of two sequences are shown as one row: `(Some(i), Some(j))` compares
/// `before[i]` with `after[j]`, `(Some(i), None)` is removed, `(None, Some(j))` added.
/// Terraform's rule: sequences of one length that are not a reordering compare position
/// by position; otherwise a longest common subsequence is kept, what lies between is
/// removed then added, except that an object removed opposite an object added is shown
/// as one changed object.
fn pair_up<T: PartialEq>(
    before: &[T],
    after: &[T],
    is_object: impl Fn(&T) -> bool,
) -> Vec<(Option<usize>, Option<usize>)> {
    let reorder = before.iter().all(|b| after.contains(b));
    if before.len() == after.len() && !reorder {
        return (0..before.len()).map(|i| (Some(i), Some(i))).collect();
    }
    let common = common_subsequence(before, after);
    let mut out = Vec::new();
    let (mut i, mut j, mut c) = (0, 0, 0);
    while i < before.len() || j < after.len() || c < common.len() {
        while i < before.len() && (c >= common.len() || before[i] != *common[c]) {
            let paired = is_object(&before[i])
                && j < after.len()
                && is_object(&after[j])
                && (c >= common.len() || after[j] != *common[c]);
            if paired {
                out.push((Some(i), Some(j)));
                j += 1;
            } else {
                out.push((Some(i), None));
            }
            i += 1;
        }
        while j < after.len() && (c >= common.len() || after[j] != *common[c]) {
            out.push((None, Some(j)));
            j += 1;
        }
        if c < common.len() {
            out.push((Some(i), Some(j)));
            i += 1;
            j += 1;
            c += 1;
        }
    }
    out
}

/// A longest common subsequence, picked among equals the way Terraform picks it (walking
/// back from the end, preferring to drop from `after` on a tie) so the rows match its.
fn common_subsequence<'a, T: PartialEq>(xs: &'a [T], ys: &[T]) -> Vec<&'a T> {
    if xs.is_empty() || ys.is_empty() {
        return Vec::new();
    }
    let w = xs.len();
    let mut len = vec![0usize; xs.len() * ys.len()];
    let mut eq = vec![false; xs.len() * ys.len()];
    for y in 0..ys.len() {
        for x in 0..xs.len() {
            let at = w * y + x;
            if xs[x] == ys[y] {
                eq[at] = true;
                len[at] = if x == 0 || y == 0 {
                    1
                } else {
                    len[w * (y - 1) + x - 1] + 1
                };
            } else {
                let left = if x > 0 { len[at - 1] } else { 0 };
                let up = if y > 0 { len[at - w] } else { 0 };
                len[at] = left.max(up);
            }
        }
    }
    let mut out = Vec::new();
    let (mut x, mut y) = (xs.len() as isize - 1, ys.len() as isize - 1);
    while x >= 0 && y >= 0 {
        let at = w * y as usize + x as usize;
        if eq[at] {
            out.push(&xs[x as usize]);
            x -= 1;
            y -= 1;
        } else {
            let left = if x > 0 { len[at - 1] } else { 0 };
            let up = if y > 0 { len[at - w] } else { 0 };
            if left > up {
                x -= 1;
            } else {
                y -= 1;
            }
        }
    }
    out.reverse();
    out
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Opts {
    /// Plans show a sign before each line; `state show` does not.
    pub signs: bool,
    /// Show unchanged members instead of counting them.
    pub show_unchanged: bool,
    /// No `-> null` after a deleted value (members of a collection never have one).
    pub no_null_suffix: bool,
}

impl Opts {
    pub(crate) fn plan() -> Opts {
        Opts {
            signs: true,
            show_unchanged: false,
            no_null_suffix: false,
        }
    }
    pub(crate) fn state() -> Opts {
        Opts {
            signs: false,
            show_unchanged: true,
            no_null_suffix: true,
        }
    }
}

/// A line at text column `k` with `sign` two columns to its left (plans only).
fn line(out: &mut String, k: usize, sign: char, opts: Opts, text: &str) {
    if opts.signs {
        out.push_str(&" ".repeat(k.saturating_sub(2)));
        out.push(sign);
        out.push(' ');
    } else {
        out.push_str(&" ".repeat(k));
    }
    out.push_str(text);
    out.push('\n');
}

fn null_suffix(opts: Opts, act: Act) -> &'static str {
    if !opts.no_null_suffix && act == Act::Delete {
        " -> null"
    } else {
        ""
    }
}

fn forces(replace: bool) -> &'static str {
    if replace { " # forces replacement" } else { "" }
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// An object key: quoted for maps and for keys that are not identifiers.
fn key_text(k: &str, quoted: bool) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if ident && !quoted {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A top-level attribute name as `state show` prints it, and its width for alignment.
pub(crate) fn key(name: &str) -> String {
    key_text(name, false)
}

pub(crate) fn key_width(name: &str) -> usize {
    key(name).chars().count()
}

/// Keys Terraform always shows in an object, changed or not.
fn important(k: &str) -> bool {
    matches!(k, "id" | "name" | "tags")
}

/// The text of `d` placed on a line whose text column is `k` (without that line's sign).
pub(crate) fn render(d: &Diff, k: usize, opts: Opts) -> String {
    match &d.shape {
        Shape::Leaf { before, after } => {
            render_leaf(before.as_ref(), after.as_ref(), d.act, k, opts, false)
        }
        Shape::KindChange(b, a) => {
            let o = Opts {
                no_null_suffix: true,
                ..opts
            };
            format!("{} -> {}", render(b, k, o), render(a, k, o))
        }
        Shape::Object { members, quoted } => {
            if members.is_empty() {
                return format!("{{}}{}", null_suffix(opts, d.act));
            }
            let keys: Vec<String> = members.iter().map(|(n, _)| key_text(n, *quoted)).collect();
            let width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
            let member_opts = Opts {
                no_null_suffix: true,
                ..opts
            };
            let mut out = String::from("{\n");
            let mut hidden = 0;
            for ((name, m), key) in members.iter().zip(&keys) {
                let o = if important(name) && !quoted {
                    Opts {
                        show_unchanged: true,
                        ..member_opts
                    }
                } else if m.act == Act::NoOp && !opts.show_unchanged {
                    hidden += 1;
                    continue;
                } else {
                    member_opts
                };
                let pad = " ".repeat(width - key.chars().count());
                line(
                    &mut out,
                    k + 4,
                    m.act.sign(),
                    opts,
                    &format!("{key}{pad} = {}", render(m, k + 4, o)),
                );
            }
            if hidden > 0 {
                line(
                    &mut out,
                    k + 4,
                    ' ',
                    opts,
                    &unchanged(if *quoted { "element" } else { "attribute" }, hidden),
                );
            }
            out.push_str(&" ".repeat(k));
            out.push('}');
            out.push_str(null_suffix(opts, d.act));
            out
        }
        Shape::Array(items) => {
            if items.is_empty() {
                return format!("[]{}", null_suffix(opts, d.act));
            }
            let item_opts = Opts {
                no_null_suffix: true,
                ..opts
            };
            let context_opts = Opts {
                show_unchanged: true,
                ..opts
            };
            let mut out = String::from("[\n");
            // Unchanged elements are counted, except the one just before and the one just
            // after a change, shown so that the reader sees where in the list it is.
            let mut skipped: Vec<&Diff> = Vec::new();
            let mut show_next = false;
            for item in items {
                if item.act == Act::NoOp && !show_next && !opts.show_unchanged {
                    skipped.push(item);
                    continue;
                }
                show_next = false;
                if skipped.len() > 1 {
                    line(
                        &mut out,
                        k + 4,
                        ' ',
                        opts,
                        &unchanged("element", skipped.len() - 1),
                    );
                }
                if let Some(last) = skipped.last() {
                    line(
                        &mut out,
                        k + 4,
                        last.act.sign(),
                        opts,
                        &format!("{},", render(last, k + 4, context_opts)),
                    );
                }
                skipped.clear();
                let o = if item.act == Act::NoOp {
                    context_opts
                } else {
                    show_next = true;
                    item_opts
                };
                line(
                    &mut out,
                    k + 4,
                    item.act.sign(),
                    opts,
                    &format!("{},", render(item, k + 4, o)),
                );
            }
            if !skipped.is_empty() {
                line(
                    &mut out,
                    k + 4,
                    ' ',
                    opts,
                    &unchanged("element", skipped.len()),
                );
            }
            out.push_str(&" ".repeat(k));
            out.push(']');
            out.push_str(null_suffix(opts, d.act));
            out
        }
    }
}

fn unchanged(what: &str, n: usize) -> String {
    format!(
        "# ({n} unchanged {what}{} hidden)",
        if n == 1 { "" } else { "s" }
    )
}

fn scalar(t: Option<&Tree>) -> String {
    match t {
        None | Some(Tree::Null) => "null".into(),
        Some(Tree::Bool(b)) => b.to_string(),
        Some(Tree::Number(n)) => n.clone(),
        Some(Tree::String(s)) => quote(s),
        Some(Tree::Opaque(s)) => (*s).to_string(),
        Some(Tree::Object { .. } | Tree::Array(_)) => String::new(),
    }
}

fn render_leaf(
    before: Option<&Tree>,
    after: Option<&Tree>,
    act: Act,
    k: usize,
    opts: Opts,
    replace: bool,
) -> String {
    if matches!(before, Some(Tree::String(_))) || matches!(after, Some(Tree::String(_))) {
        return string_diff(text_of(before), text_of(after), act, k, opts, replace);
    }
    let f = forces(replace);
    match act {
        Act::Create => format!("{}{f}", scalar(after)),
        Act::Delete => format!("{}{}{f}", scalar(before), null_suffix(opts, act)),
        Act::NoOp => format!("{}{f}", scalar(before)),
        Act::Update => format!("{} -> {}{f}", scalar(before), scalar(after)),
    }
}

/// A string as Terraform shows it: a JSON document as `jsonencode(...)`, text with line
/// breaks as a heredoc, anything else quoted. `act` says which sides exist; `replace`
/// adds `# forces replacement` where Terraform puts it.
pub(crate) fn string_diff(
    before: Option<&str>,
    after: Option<&str>,
    act: Act,
    k: usize,
    opts: Opts,
    replace: bool,
) -> String {
    let f = forces(replace);
    let mut lines = String::new();
    match act {
        Act::Create | Act::NoOp | Act::Delete => {
            let s = if act == Act::Delete { before } else { after }.unwrap_or_default();
            if let Some(j) = json_document(s) {
                let t = Tree::from_json(&j);
                let (b, a) = match act {
                    Act::Create => (None, Some(&t)),
                    Act::Delete => (Some(&t), None),
                    _ => (Some(&t), Some(&t)),
                };
                return jsonencode(b, a, act, k, opts, replace);
            }
            if !s.contains('\n') {
                return format!(
                    "{}{}{f}",
                    quote(s),
                    if act == Act::Delete {
                        null_suffix(opts, act)
                    } else {
                        ""
                    }
                );
            }
            for l in s.trim().split('\n') {
                line(&mut lines, k + 4, ' ', opts, l);
            }
        }
        Act::Update => {
            let (b, a) = (before.unwrap_or_default(), after.unwrap_or_default());
            match (json_document(b), json_document(a)) {
                (Some(bj), Some(aj)) => {
                    return jsonencode(
                        Some(&Tree::from_json(&bj)),
                        Some(&Tree::from_json(&aj)),
                        act,
                        k,
                        opts,
                        replace,
                    );
                }
                (None, None) => {}
                _ => {
                    let o = Opts {
                        no_null_suffix: true,
                        ..opts
                    };
                    return format!(
                        "{} -> {}",
                        string_diff(before, None, Act::Delete, k, o, false),
                        string_diff(None, after, Act::Create, k, o, false)
                    );
                }
            }
            if !b.contains('\n') && !a.contains('\n') {
                return format!("{} -> {}{f}", quote(b), quote(a));
            }
            // Trimmed as a created or kept heredoc is: a final line break adds no line.
            let (bl, al): (Vec<&str>, Vec<&str>) = (
                b.trim().split('\n').collect(),
                a.trim().split('\n').collect(),
            );
            for (i, j) in pair_up(&bl, &al, |_| false) {
                match (i, j) {
                    (Some(i), Some(j)) if bl[i] == al[j] => {
                        line(&mut lines, k + 4, ' ', opts, bl[i])
                    }
                    // Lines compared by position (equal counts) that differ: a line is
                    // replaced, never `~`-changed.
                    (Some(i), Some(j)) => {
                        line(&mut lines, k + 4, '-', opts, bl[i]);
                        line(&mut lines, k + 4, '+', opts, al[j]);
                    }
                    (Some(i), None) => line(&mut lines, k + 4, '-', opts, bl[i]),
                    (None, Some(j)) => line(&mut lines, k + 4, '+', opts, al[j]),
                    (None, None) => {}
                }
            }
        }
    }
    format!(
        "<<-EOT{f}\n{lines}{}EOT{}",
        " ".repeat(k),
        null_suffix(opts, act)
    )
}

/// `jsonencode(` with the document's diff inside. A change of spacing alone shows the
/// whole document, unchanged, under `# whitespace changes`.
fn jsonencode(
    before: Option<&Tree>,
    after: Option<&Tree>,
    act: Act,
    k: usize,
    opts: Opts,
    replace: bool,
) -> String {
    let d = diff(before, after);
    let mut inner = Opts {
        no_null_suffix: true,
        ..opts
    };
    let mut sign = if act == Act::Update {
        Act::Update
    } else {
        Act::NoOp
    };
    let (mut note, mut suffix) = ("", forces(replace));
    if d.act == Act::NoOp && act == Act::Update {
        note = if replace {
            " # whitespace changes force replacement"
        } else {
            " # whitespace changes"
        };
        suffix = "";
        inner.show_unchanged = true;
        sign = Act::NoOp;
    }
    let body = render(&d, k + 4, inner);
    if !body.contains('\n') {
        return format!("jsonencode({body}){note}{suffix}");
    }
    let mut out = format!("jsonencode({note}\n");
    line(
        &mut out,
        k + 4,
        sign.sign(),
        opts,
        &format!("{body}{suffix}"),
    );
    out.push_str(&" ".repeat(k));
    out.push(')');
    out.push_str(null_suffix(opts, act));
    out
}

/// `v` as `terraform state show` prints an attribute's value at text column `k`.
pub(crate) fn state_value(v: &Value, k: usize) -> String {
    let t = Tree::from_value(v);
    render(&diff(Some(&t), Some(&t)), k, Opts::state())
}
