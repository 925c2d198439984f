//! Terraform's built-in functions, with Terraform's argument conversions (a number where a
//! string is expected becomes its decimal text, a tuple where a list is expected becomes a
//! list, ...) and its marks: a function of a sensitive value is sensitive, and a function
//! of an unknown value is unknown.

use std::collections::BTreeMap;
use std::path::Path;

use forge_provider::Value;

use crate::number::number_text;
use crate::types::TypeConstraint;
use crate::types::{convert, make_set, type_of, unify};

mod collections;
mod encoding;
mod glob;
mod limits;
mod network;
mod strings;
mod text_encoding;
mod time;
mod yaml;
mod yaml_decode;

pub(crate) use encoding::read_file_text;

/// What functions may need from the caller.
pub struct FnContext<'a> {
    /// Where `file()` resolves relative paths.
    pub base_dir: &'a Path,
}

/// Whether a relative `/`-separated path matches a glob pattern of `fileset`'s syntax
/// (`*`, `**`, `?`, `[a-z]`, `{a,b}`), for other parts of forge that select by pattern
/// (Terragrunt's unit filters); a malformed pattern is an error saying why.
pub fn glob_matches(pattern: &str, path: &str) -> Result<bool, String> {
    glob::Glob::new(pattern)
        .map(|g| g.matches(path))
        .map_err(|e| e.message)
}

/// A function failure: the message, which argument (0-based) it is about, and a hint.
#[derive(Debug, Clone, PartialEq)]
pub struct FnError {
    pub message: String,
    pub arg: Option<usize>,
    pub hint: Option<String>,
}

impl FnError {
    pub fn new(message: impl Into<String>) -> Self {
        FnError {
            message: message.into(),
            arg: None,
            hint: None,
        }
    }
    pub fn arg(mut self, i: usize) -> Self {
        self.arg = Some(i);
        self
    }
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

pub type FnResult = Result<Value, FnError>;

/// Every function name forge knows, for "did you mean" hints.
pub const NAMES: &[&str] = &[
    "uuidv5",
    "plantimestamp",
    "ephemeralasnull",
    "templatestring",
    "yamlencode",
    "yamldecode",
    "textdecodebase64",
    "base64gzip",
    "formatdate",
    "timeadd",
    "timecmp",
    "csvdecode",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesha512",
    "filebase64sha256",
    "filebase64sha512",
    "base64sha512",
    "fileset",
    "abs",
    "alltrue",
    "anytrue",
    "base64decode",
    "base64encode",
    "base64sha256",
    "can",
    "ceil",
    "chomp",
    "chunklist",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "cidrsubnets",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "distinct",
    "element",
    "endswith",
    "file",
    "filebase64",
    "fileexists",
    "flatten",
    "floor",
    "format",
    "formatlist",
    "indent",
    "index",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "log",
    "lookup",
    "lower",
    "max",
    "md5",
    "merge",
    "min",
    "nonsensitive",
    "one",
    "parseint",
    "pow",
    "range",
    "regex",
    "regexall",
    "replace",
    "reverse",
    "setintersection",
    "setproduct",
    "setsubtract",
    "setunion",
    "sha1",
    "sha256",
    "sha512",
    "signum",
    "slice",
    "sort",
    "split",
    "startswith",
    "strrev",
    "substr",
    "sensitive",
    "sum",
    "templatefile",
    "timestamp",
    "title",
    "tobool",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "transpose",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "try",
    "upper",
    "urlencode",
    "values",
    "zipmap",
    "issensitive",
    "textencodebase64",
    "abspath",
    "basename",
    "dirname",
    "pathexpand",
    "matchkeys",
    "strcontains",
    "uuid",
];

/// Functions that handle unknown values nested inside their arguments themselves; every
/// other function returns unknown when any argument is not wholly known.
const NESTED_UNKNOWN_OK: &[&str] = &[
    "length",
    "concat",
    "merge",
    "element",
    "lookup",
    "keys",
    "coalesce",
    "coalescelist",
    "tolist",
    "toset",
    "tomap",
    "flatten",
    "slice",
    "reverse",
    "one",
    "values",
    "zipmap",
    "sensitive",
    "nonsensitive",
    "issensitive",
    "compact",
];

/// Calls a built-in function. `None` means there is no such function.
pub fn call(name: &str, args: Vec<Value>, ctx: &FnContext<'_>) -> Option<FnResult> {
    if !NAMES.contains(&name) {
        return None;
    }
    // Marks first: these look at them, every other function sees plain values.
    match name {
        "sensitive" => return Some(one_arg(name, args).map(Value::sensitive)),
        "nonsensitive" => return Some(one_arg(name, args).map(|v| v.deep_unmarked())),
        "issensitive" => {
            return Some(one_arg(name, args).map(|v| match v {
                Value::Unknown => Value::Unknown,
                v => Value::Bool(v.contains_sensitive()),
            }));
        }
        _ => {}
    }
    // Terraform's `length` and `keys` look only at the collection: a sensitive element
    // or attribute does not make the count or the key names sensitive (cty passes these
    // two their argument marked and keeps only its own mark), so `count =
    // length(var.list_with_a_secret)` works as in Terraform. Every other function's
    // result is sensitive when anything in its arguments is.
    let sensitive = if matches!(name, "length" | "keys") {
        args.iter().any(Value::is_sensitive)
    } else {
        args.iter().any(Value::contains_sensitive)
    };
    let args: Vec<Value> = if args.iter().any(Value::contains_sensitive) {
        args.iter().map(Value::deep_unmarked).collect()
    } else {
        args
    };
    let any_top_unknown = args.iter().any(|a| matches!(a, Value::Unknown));
    let any_nested_unknown = args.iter().any(|a| !a.is_wholly_known());
    let unknown_result = (any_top_unknown
        && !matches!(
            name,
            "coalesce" | "coalescelist" | "length" | "concat" | "merge"
        ))
        || (any_nested_unknown && !NESTED_UNKNOWN_OK.contains(&name));
    let result = if unknown_result {
        Ok(Value::Unknown)
    } else {
        dispatch(name, Args { v: args }, ctx)
    };
    if sensitive {
        return Some(result.map(mark_result).map_err(|e| withheld(name, e)));
    }
    Some(result)
}

/// A function's error may quote its arguments (a key not found, text that does not
/// parse); when one of them is sensitive, the message is replaced by one that shows no
/// value. Which argument failed is still said.
fn withheld(name: &str, e: FnError) -> FnError {
    FnError {
        message: format!(
            "{name} failed on a sensitive argument; the reason is withheld because it could show the value"
        ),
        arg: e.arg,
        hint: Some(
            "check the value it is given (for example with nonsensitive() in a scratch output while debugging), or give a default with try(...)"
                .to_string(),
        ),
    }
}

fn mark_result(v: Value) -> Value {
    match v {
        Value::Unknown => Value::Unknown.sensitive(),
        v => v.sensitive(),
    }
}

fn one_arg(name: &str, mut args: Vec<Value>) -> FnResult {
    if args.len() != 1 {
        return Err(FnError::new(format!(
            "{name} takes exactly one argument, {} given",
            args.len()
        )));
    }
    Ok(args.remove(0))
}

fn dispatch(name: &str, a: Args, ctx: &FnContext<'_>) -> FnResult {
    match name {
        // strings
        "format" => strings::format_fn(a),
        "formatlist" => strings::formatlist(a),
        "join" => strings::join(a),
        "split" => strings::split(a),
        "replace" => strings::replace(a),
        "lower" => a
            .arity(1, 1)
            .and_then(|a| Ok(Value::String(strings::map_case(&a.string(0)?, false)))),
        "upper" => a
            .arity(1, 1)
            .and_then(|a| Ok(Value::String(strings::map_case(&a.string(0)?, true)))),
        "title" => strings::title(a),
        "trimspace" => a
            .arity(1, 1)
            .and_then(|a| Ok(Value::String(a.string(0)?.trim().to_string()))),
        "trim" => strings::trim(a),
        "trimprefix" => a.arity(2, 2).and_then(|a| {
            let s = a.string(0)?;
            let p = a.string(1)?;
            Ok(Value::String(
                s.strip_prefix(p.as_str()).unwrap_or(&s).to_string(),
            ))
        }),
        "trimsuffix" => a.arity(2, 2).and_then(|a| {
            let s = a.string(0)?;
            let p = a.string(1)?;
            Ok(Value::String(
                s.strip_suffix(p.as_str()).unwrap_or(&s).to_string(),
            ))
        }),
        "substr" => strings::substr(a),
        "startswith" => a
            .arity(2, 2)
            .and_then(|a| Ok(Value::Bool(a.string(0)?.starts_with(&a.string(1)?)))),
        "endswith" => a
            .arity(2, 2)
            .and_then(|a| Ok(Value::Bool(a.string(0)?.ends_with(&a.string(1)?)))),
        "strcontains" => a
            .arity(2, 2)
            .and_then(|a| Ok(Value::Bool(a.string(0)?.contains(&a.string(1)?)))),
        "chomp" => strings::chomp(a),
        "strrev" => a.arity(1, 1).and_then(|a| {
            let s = a.string(0)?;
            Ok(Value::String(
                strings::graphemes(&s).into_iter().rev().collect(),
            ))
        }),
        "indent" => strings::indent(a),
        "regex" => strings::regex_fn(a),
        "regexall" => strings::regexall(a),
        "tostring" => a
            .arity(1, 1)
            .and_then(|a| a.convert_arg(0, &TypeConstraint::String)),
        "tonumber" => a
            .arity(1, 1)
            .and_then(|a| a.convert_arg(0, &TypeConstraint::Number)),
        "tobool" => a
            .arity(1, 1)
            .and_then(|a| a.convert_arg(0, &TypeConstraint::Bool)),
        "tolist" => a
            .arity(1, 1)
            .and_then(|a| a.convert_arg(0, &TypeConstraint::List(Box::new(TypeConstraint::Any)))),
        "toset" => a
            .arity(1, 1)
            .and_then(|a| a.convert_arg(0, &TypeConstraint::Set(Box::new(TypeConstraint::Any)))),
        "tomap" => a
            .arity(1, 1)
            .and_then(|a| a.convert_arg(0, &TypeConstraint::Map(Box::new(TypeConstraint::Any)))),
        // numbers
        "abs" => a
            .arity(1, 1)
            .and_then(|a| Ok(Value::Number(a.number(0)?.abs()))),
        "ceil" => a
            .arity(1, 1)
            .and_then(|a| Ok(Value::Number(a.number(0)?.ceil()))),
        "floor" => a
            .arity(1, 1)
            .and_then(|a| Ok(Value::Number(a.number(0)?.floor()))),
        "signum" => a.arity(1, 1).and_then(|a| {
            let n = a.number(0)?;
            Ok(Value::Number(if n > 0.0 {
                1.0
            } else if n < 0.0 {
                -1.0
            } else {
                0.0
            }))
        }),
        "pow" => a
            .arity(2, 2)
            .and_then(|a| Ok(Value::Number(a.number(0)?.powf(a.number(1)?)))),
        "log" => a
            .arity(2, 2)
            .and_then(|a| Ok(Value::Number(a.number(0)?.ln() / a.number(1)?.ln()))),
        "max" => collections::min_max(a, true),
        "min" => collections::min_max(a, false),
        "sum" => collections::sum(a),
        "parseint" => strings::parseint(a),
        // collections
        "length" => collections::length(a),
        "concat" => collections::concat(a),
        "merge" => collections::merge(a),
        "lookup" => collections::lookup(a),
        "element" => collections::element(a),
        "contains" => collections::contains(a),
        "index" => collections::index(a),
        "keys" => collections::keys(a),
        "values" => collections::values(a),
        "zipmap" => collections::zipmap(a),
        "flatten" => collections::flatten(a),
        "distinct" => collections::distinct(a),
        "compact" => collections::compact(a),
        "coalesce" => collections::coalesce(a),
        "coalescelist" => collections::coalescelist(a),
        "range" => collections::range(a),
        "one" => collections::one(a),
        "sort" => collections::sort(a),
        "reverse" => collections::reverse(a),
        "slice" => collections::slice(a),
        "setunion" => collections::set_op(a, collections::SetOp::Union),
        "setintersection" => collections::set_op(a, collections::SetOp::Intersection),
        "setsubtract" => collections::set_op(a, collections::SetOp::Subtract),
        "setproduct" => collections::setproduct(a),
        "alltrue" => collections::all_any(a, true),
        "anytrue" => collections::all_any(a, false),
        "chunklist" => collections::chunklist(a),
        "transpose" => collections::transpose(a),
        "matchkeys" => collections::matchkeys(a),
        // encoding and hashing
        "jsonencode" => encoding::jsonencode(a),
        "jsondecode" => encoding::jsondecode(a),
        "base64encode" => encoding::base64encode(a),
        "base64decode" => encoding::base64decode(a),
        "textencodebase64" => text_encoding::textencodebase64(a),
        "textdecodebase64" => text_encoding::textdecodebase64(a),
        "base64gzip" => text_encoding::base64gzip(a),
        "base64sha256" => encoding::base64sha256(a),
        "md5" => encoding::digest(a, encoding::Digest::Md5),
        "sha1" => encoding::digest(a, encoding::Digest::Sha1),
        "sha256" => encoding::digest(a, encoding::Digest::Sha256),
        "sha512" => encoding::digest(a, encoding::Digest::Sha512),
        "urlencode" => encoding::urlencode(a),
        "uuid" => Ok(Value::String(encoding::uuid_v4())),
        "timestamp" => a.arity(0, 0).map(|_| Value::String(encoding::timestamp())),
        // files
        "file" => encoding::file(a, ctx),
        "filebase64" => encoding::filebase64(a, ctx),
        "filemd5" => encoding::file_digest(a, ctx, encoding::Digest::Md5, false),
        "filesha1" => encoding::file_digest(a, ctx, encoding::Digest::Sha1, false),
        "filesha256" => encoding::file_digest(a, ctx, encoding::Digest::Sha256, false),
        "filesha512" => encoding::file_digest(a, ctx, encoding::Digest::Sha512, false),
        "filebase64sha256" => encoding::file_digest(a, ctx, encoding::Digest::Sha256, true),
        "filebase64sha512" => encoding::file_digest(a, ctx, encoding::Digest::Sha512, true),
        "base64sha512" => encoding::base64sha512(a),
        "fileset" => encoding::fileset(a, ctx),
        "formatdate" => time::formatdate(a),
        "timeadd" => time::timeadd(a),
        "timecmp" => time::timecmp(a),
        "csvdecode" => encoding::csvdecode(a),
        "yamlencode" => yaml::yamlencode(a),
        "yamldecode" => yaml_decode::yamldecode(a),
        "uuidv5" => encoding::uuidv5(a),
        "plantimestamp" => a.arity(0, 0).map(|_| Value::String(encoding::timestamp())),
        // forge has no ephemeral values, so there is nothing to turn into null.
        "ephemeralasnull" => a.arity(1, 1).map(|mut a| a.v.remove(0)),
        "fileexists" => encoding::fileexists(a, ctx),
        "abspath" => encoding::abspath(a, ctx),
        "basename" => encoding::basename(a),
        "dirname" => encoding::dirname(a),
        "pathexpand" => encoding::pathexpand(a),
        // networks
        "cidrsubnet" => network::cidrsubnet(a),
        "cidrsubnets" => network::cidrsubnets(a),
        "cidrhost" => network::cidrhost(a),
        "cidrnetmask" => network::cidrnetmask(a),
        // try, can and templatefile are evaluated by the evaluator (they need expressions
        // or a scope).
        _ => Err(FnError::new(format!("{name} cannot be called here"))),
    }
}

/// A function's arguments with Terraform's conversions.
pub(crate) struct Args {
    pub v: Vec<Value>,
}

impl Args {
    pub fn arity(self, min: usize, max: usize) -> Result<Self, FnError> {
        let n = self.v.len();
        if n < min || n > max {
            let expected = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            let s = if expected == "1" { "" } else { "s" };
            return Err(FnError::new(format!(
                "takes {expected} argument{s}, but {n} were given"
            )));
        }
        Ok(self)
    }

    pub fn get(&self, i: usize) -> Result<&Value, FnError> {
        self.v
            .get(i)
            .ok_or_else(|| FnError::new(format!("argument {} is missing", i + 1)))
    }

    fn not_null(&self, i: usize) -> Result<&Value, FnError> {
        let v = self.get(i)?;
        if v.is_null() {
            return Err(FnError::new(format!("argument {} must not be null", i + 1)).arg(i));
        }
        Ok(v)
    }

    pub fn convert_arg(&self, i: usize, ty: &TypeConstraint) -> FnResult {
        convert(ty, self.get(i)?.clone())
            .map_err(|m| FnError::new(format!("invalid argument {}: {m}", i + 1)).arg(i))
    }

    pub fn string(&self, i: usize) -> Result<String, FnError> {
        match convert(&TypeConstraint::String, self.not_null(i)?.clone()) {
            Ok(Value::String(s)) => Ok(s),
            _ => Err(FnError::new(format!(
                "argument {} must be a string, not {}",
                i + 1,
                self.v[i].kind_name()
            ))
            .arg(i)),
        }
    }

    pub fn number(&self, i: usize) -> Result<f64, FnError> {
        match convert(&TypeConstraint::Number, self.not_null(i)?.clone()) {
            Ok(Value::Number(n)) => Ok(n),
            _ => Err(FnError::new(format!(
                "argument {} must be a number, not {}",
                i + 1,
                describe(&self.v[i])
            ))
            .arg(i)),
        }
    }

    pub fn int(&self, i: usize) -> Result<i64, FnError> {
        let n = self.number(i)?;
        if n.fract() != 0.0 || !n.is_finite() {
            return Err(FnError::new(format!(
                "argument {} must be a whole number, not {}",
                i + 1,
                number_text(n)
            ))
            .arg(i));
        }
        Ok(n as i64)
    }

    /// A list, set or tuple argument's elements.
    pub fn seq(&self, i: usize) -> Result<Vec<Value>, FnError> {
        match self.not_null(i)? {
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => Ok(xs.clone()),
            other => Err(FnError::new(format!(
                "argument {} must be a list, not {}",
                i + 1,
                describe(other)
            ))
            .arg(i)),
        }
    }

    /// A list argument after conversion to `list(any)` (elements unified to one type).
    pub fn list(&self, i: usize) -> Result<Vec<Value>, FnError> {
        match self.not_null(i)? {
            Value::Set(_) => Err(FnError::new(format!(
                "argument {} must be a list, not a set",
                i + 1
            ))
            .arg(i)
            .hint("convert it with tolist(...)")),
            _ => match self.convert_arg(i, &TypeConstraint::List(Box::new(TypeConstraint::Any)))? {
                Value::List(xs) => Ok(xs),
                other => Err(FnError::new(format!(
                    "argument {} must be a list, not {}",
                    i + 1,
                    describe(&other)
                ))
                .arg(i)),
            },
        }
    }

    pub fn string_list(&self, i: usize) -> Result<Vec<String>, FnError> {
        let xs = self.seq(i)?;
        xs.into_iter()
            .map(|x| match x {
                Value::Null => {
                    Err(FnError::new(format!("argument {} must not contain null", i + 1)).arg(i))
                }
                x => match convert(&TypeConstraint::String, x) {
                    Ok(Value::String(s)) => Ok(s),
                    Ok(_) | Err(_) => Err(FnError::new(format!(
                        "argument {} must be a list of strings",
                        i + 1
                    ))
                    .arg(i)),
                },
            })
            .collect()
    }

    pub fn map(&self, i: usize) -> Result<BTreeMap<String, Value>, FnError> {
        match self.not_null(i)? {
            Value::Object(m) | Value::Map(m) => Ok(m.clone()),
            other => Err(FnError::new(format!(
                "argument {} must be a map, not {}",
                i + 1,
                describe(other)
            ))
            .arg(i)),
        }
    }
}

pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Tuple(_) => "a tuple".into(),
        Value::Object(_) => "an object".into(),
        Value::List(_) => "a list".into(),
        Value::Map(_) => "a map".into(),
        Value::Set(_) => "a set".into(),
        Value::Null => "null".into(),
        other => format!("a {}", other.kind_name()),
    }
}

/// A list of values unified to one element type (what a function returning `list(T)` gives).
pub(crate) fn list_of(items: Vec<Value>) -> Result<Value, FnError> {
    convert(
        &TypeConstraint::List(Box::new(TypeConstraint::Any)),
        Value::Tuple(items),
    )
    .map_err(FnError::new)
}

pub(crate) fn set_of(items: Vec<Value>) -> Result<Value, FnError> {
    let types: Vec<TypeConstraint> = items.iter().map(type_of).collect();
    let ty = unify(&types)
        .ok_or_else(|| FnError::new("all elements of a set must have the same type"))?;
    let converted = items
        .into_iter()
        .map(|x| convert(&ty, x))
        .collect::<Result<Vec<_>, _>>()
        .map_err(FnError::new)?;
    Ok(make_set(converted))
}
