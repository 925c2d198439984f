//! `random_string` and `random_password`: one generator, two types. A password's `result`
//! and `bcrypt_hash` are sensitive and its `id` is "none"; a string's `id` is its result.
//! Every argument but `keepers` and `override_special` replaces on change; the result is
//! kept until then. State shapes are the provider's: random_string at schema version 2,
//! random_password at 3 (with the provider's upgrades from the older versions).

use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::charset::{TextRules, generate};
use crate::entropy::OsEntropy;
use crate::replace::{differs, keepers_replace};
use crate::values::{attr, boolean, kept, or_default, text, unknown_all, whole, with};

/// Which of the two types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    String,
    Password,
}

/// `random_string` or `random_password`.
pub struct RandomText {
    kind: TextKind,
}

/// The arguments that replace the object when they change (besides `keepers` and
/// `override_special`, which have rules of their own).
const REPLACING: [&str; 10] = [
    "length",
    "special",
    "upper",
    "lower",
    "number",
    "numeric",
    "min_numeric",
    "min_upper",
    "min_lower",
    "min_special",
];

/// bcrypt's cost in the provider (Go's bcrypt.DefaultCost).
const BCRYPT_COST: u32 = 10;

impl RandomText {
    pub fn new(kind: TextKind) -> RandomText {
        RandomText { kind }
    }

    fn computed(&self) -> &'static [&'static str] {
        match self.kind {
            TextKind::String => &["id", "result"],
            TextKind::Password => &["id", "result", "bcrypt_hash"],
        }
    }

    fn build_schema(kind: TextKind) -> Schema {
        let result = Attribute::computed(AttrType::String);
        let schema = Schema::new()
            .version(match kind {
                TextKind::String => 2,
                TextKind::Password => 3,
            })
            .attr("id", Attribute::computed(AttrType::String))
            .attr(
                "keepers",
                Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
            )
            .attr("length", Attribute::required(AttrType::Number).force_new())
            .attr("override_special", Attribute::optional(AttrType::String));
        let schema = REPLACING[1..].iter().fold(schema, |s, name| {
            let a = Attribute::optional_computed(if name.starts_with("min_") {
                AttrType::Number
            } else {
                AttrType::Bool
            })
            .force_new();
            s.attr(name, a)
        });
        match kind {
            TextKind::String => schema.attr("result", result),
            TextKind::Password => schema.attr("result", result.sensitive()).attr(
                "bcrypt_hash",
                Attribute::computed(AttrType::String).sensitive(),
            ),
        }
    }

    /// The rules a (known) planned object asks for; `None` while any is unknown.
    fn rules(planned: &Value) -> Result<Option<TextRules>, ProviderError> {
        let count = |name: &str| -> Result<Option<usize>, ProviderError> {
            match whole(planned, name)? {
                Some(n) if n < 0 => Err(ProviderError::new(format!(
                    "{name} must be at least 0, not {n}"
                ))),
                Some(n) => Ok(Some(n as usize)),
                None => Ok(None),
            }
        };
        let flags = (
            boolean(planned, "upper"),
            boolean(planned, "lower"),
            boolean(planned, "numeric"),
            boolean(planned, "special"),
        );
        let (Some(upper), Some(lower), Some(numeric), Some(special)) = flags else {
            return Ok(None);
        };
        let (Some(length), Some(min_upper), Some(min_lower), Some(min_numeric), Some(min_special)) = (
            count("length")?,
            count("min_upper")?,
            count("min_lower")?,
            count("min_numeric")?,
            count("min_special")?,
        ) else {
            return Ok(None);
        };
        let override_special = match attr(planned, "override_special").unmarked() {
            Value::Unknown => return Ok(None),
            v => v.as_str().unwrap_or("").to_string(),
        };
        Ok(Some(TextRules {
            length,
            upper,
            lower,
            numeric,
            special,
            min_upper,
            min_lower,
            min_numeric,
            min_special,
            override_special,
        }))
    }

    /// `number` and `numeric` are one setting under two names (`number` is deprecated):
    /// both true when neither is set, else the one set; set both, they must agree.
    fn numeric_flag(config: &Value) -> ProviderResult<Value> {
        let number = attr(config, "number");
        let numeric = attr(config, "numeric");
        match (number.is_null(), numeric.is_null()) {
            (true, true) => Ok(Value::Bool(true)),
            (true, false) => Ok(numeric),
            (false, true) => Ok(number),
            (false, false) => {
                if let (Some(a), Some(b)) = (number.as_bool(), numeric.as_bool())
                    && a != b
                {
                    return Err(ProviderError::new(
                        "number and numeric are both configured with different values",
                    )
                    .hint("number is deprecated: set numeric only"));
                }
                Ok(numeric)
            }
        }
    }

    fn check(planned: &Value) -> ProviderResult<()> {
        if let Some(length) = whole(planned, "length")?
            && length < 1
        {
            return Err(ProviderError::new(format!(
                "length must be at least 1, not {length}"
            )));
        }
        if let Some(rules) = Self::rules(planned)? {
            if rules.minimums() > rules.length {
                return Err(ProviderError::new(format!(
                    "length ({}) must be at least the sum of min_upper, min_lower, min_numeric and min_special ({})",
                    rules.length,
                    rules.minimums()
                )));
            }
            if !(rules.upper || rules.lower || rules.numeric || rules.special) {
                return Err(ProviderError::new(
                    "upper, lower, numeric and special are all false: there is no character to draw from",
                )
                .hint("set at least one of them to true"));
            }
        }
        Ok(())
    }

    /// The object with its generated values, from a plan whose arguments are known.
    fn generated(&self, planned: &Value) -> ProviderResult<Value> {
        let rules = Self::rules(planned)?.ok_or_else(|| {
            ProviderError::new("the arguments are not known: the text cannot be generated")
        })?;
        let result = generate(&rules, &mut OsEntropy)?;
        let mut out = with(planned.clone(), "result", self.result_value(&result));
        match self.kind {
            TextKind::String => out = with(out, "id", Value::string(result)),
            TextKind::Password => {
                out = with(out, "id", Value::string("none"));
                out = with(out, "bcrypt_hash", bcrypt_hash(&result)?);
            }
        }
        Ok(out)
    }

    fn result_value(&self, result: &str) -> Value {
        match self.kind {
            TextKind::String => Value::string(result),
            TextKind::Password => Value::string(result).sensitive(),
        }
    }
}

/// The provider's `bcrypt_hash`: bcrypt (version 2a, cost 10) of the first 72 bytes.
pub(crate) fn bcrypt_hash(result: &str) -> ProviderResult<Value> {
    let bytes = result.as_bytes();
    let bytes = &bytes[..bytes.len().min(72)];
    let hash = bcrypt::hash_with_result(bytes, BCRYPT_COST)
        .map_err(|e| ProviderError::new(format!("the bcrypt hash cannot be computed: {e}")))?;
    Ok(Value::string(hash.format_for_version(bcrypt::Version::TwoA)).sensitive())
}

#[async_trait]
impl ResourceType for RandomText {
    fn type_name(&self) -> &'static str {
        match self.kind {
            TextKind::String => "random_string",
            TextKind::Password => "random_password",
        }
    }

    fn schema(&self) -> &Schema {
        static STRING: OnceLock<Schema> = OnceLock::new();
        static PASSWORD: OnceLock<Schema> = OnceLock::new();
        match self.kind {
            TextKind::String => STRING.get_or_init(|| Self::build_schema(TextKind::String)),
            TextKind::Password => PASSWORD.get_or_init(|| Self::build_schema(TextKind::Password)),
        }
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        let numeric = Self::numeric_flag(config)?;
        let mut planned = Value::object([
            ("keepers", attr(config, "keepers")),
            ("length", attr(config, "length")),
            ("override_special", attr(config, "override_special")),
            ("number", numeric.clone()),
            ("numeric", numeric),
        ]);
        for name in ["special", "upper", "lower"] {
            planned = with(planned, name, or_default(config, name, Value::Bool(true)));
        }
        for name in ["min_numeric", "min_upper", "min_lower", "min_special"] {
            planned = with(planned, name, or_default(config, name, Value::Number(0.0)));
        }
        for name in self.computed() {
            planned = with(planned, name, kept(prior, name));
        }
        Self::check(&planned)?;
        let Some(prior) = prior else {
            return Ok(PlannedState {
                planned,
                requires_replace: Vec::new(),
            });
        };
        let mut requires_replace: Vec<String> = REPLACING
            .iter()
            .filter(|name| differs(&attr(prior, name), &attr(&planned, name)))
            .map(|name| name.to_string())
            .collect();
        if override_special_replaces(
            &attr(prior, "override_special"),
            &attr(config, "override_special"),
        ) {
            requires_replace.push("override_special".to_string());
        }
        if keepers_replace(&attr(prior, "keepers"), &attr(config, "keepers")) {
            requires_replace.push("keepers".to_string());
        }
        if !requires_replace.is_empty() {
            planned = unknown_all(planned, self.computed());
        }
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.generated(planned)
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        Ok(Some(state.clone()))
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        Ok(planned.clone())
    }

    async fn delete(&self, _state: &Value) -> ProviderResult<()> {
        Ok(())
    }

    /// The import id is the value itself; the arguments take their defaults and the
    /// length is the value's (in bytes, as the provider counts it).
    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let mut state = Value::object([
            ("keepers", Value::Null),
            ("length", Value::Number(id.len() as f64)),
            ("override_special", Value::Null),
            ("result", self.result_value(id)),
        ]);
        for name in ["special", "upper", "lower", "number", "numeric"] {
            state = with(state, name, Value::Bool(true));
        }
        for name in ["min_numeric", "min_upper", "min_lower", "min_special"] {
            state = with(state, name, Value::Number(0.0));
        }
        match self.kind {
            TextKind::String => state = with(state, "id", Value::string(id)),
            TextKind::Password => {
                state = with(state, "id", Value::string("none"));
                state = with(state, "bcrypt_hash", bcrypt_hash(id)?);
            }
        }
        Ok(Some(state))
    }

    /// The provider's upgrades: arguments an import by an old release left null get
    /// their defaults, `numeric` is a copy of `number`, and a password gains (or, when it
    /// does not match, regains) its `bcrypt_hash`.
    fn upgrade_step(&self, from: u64, state: Value) -> ProviderResult<Value> {
        let mut state = fill_import_nulls(state);
        let hash_matches = |s: &Value| {
            let (Some(result), Some(hash)) = (text(s, "result"), text(s, "bcrypt_hash")) else {
                return false;
            };
            let bytes = result.as_bytes();
            bcrypt::verify(&bytes[..bytes.len().min(72)], hash).unwrap_or(false)
        };
        match (self.kind, from) {
            (TextKind::String, 1) | (TextKind::Password, 1) => {
                let number = attr(&state, "number");
                state = with(state, "numeric", number);
                Ok(state)
            }
            (TextKind::Password, 0) | (TextKind::Password, 2) => {
                if from == 0 {
                    let number = attr(&state, "number");
                    state = with(state, "numeric", number);
                }
                if !hash_matches(&state) {
                    let result = text(&state, "result").unwrap_or("").to_string();
                    state = with(state, "bcrypt_hash", bcrypt_hash(&result)?);
                }
                Ok(state)
            }
            _ => Err(ProviderError::new(format!(
                "{}: forge cannot upgrade a state at schema version {from}",
                self.type_name()
            ))
            .hint("re-import the object with forge import (the id is its value)")),
        }
    }
}

/// The upgrades' first step in the provider: what an old import left null.
fn fill_import_nulls(state: Value) -> Value {
    let mut state = state;
    if attr(&state, "length").is_null() {
        let len = text(&state, "result").map_or(0, str::len);
        state = with(state, "length", Value::Number(len as f64));
    }
    for name in ["min_numeric", "min_upper", "min_lower", "min_special"] {
        if attr(&state, name).is_null() {
            state = with(state, name, Value::Number(0.0));
        }
    }
    for name in ["special", "upper", "lower", "number"] {
        if attr(&state, name).is_null() {
            state = with(state, name, Value::Bool(true));
        }
    }
    state
}

/// `override_special` replaces on change, except from "" to null (the same set).
fn override_special_replaces(prior: &Value, config: &Value) -> bool {
    if prior.same_as(config) || config.is_unknown() {
        return false;
    }
    !config.is_null() || prior.is_null() || prior.as_str() != Some("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut c = Value::object::<&str>([]);
        for name in RandomText::new(TextKind::Password)
            .schema()
            .attributes
            .keys()
        {
            c = with(c, name, Value::Null);
        }
        for (k, v) in pairs {
            c = with(c, k, v.clone());
        }
        c
    }

    async fn created(kind: TextKind, c: &Value) -> Value {
        let t = RandomText::new(kind);
        let planned = t.plan(None, c).expect("plan").planned;
        t.create(&planned).await.expect("create")
    }

    #[tokio::test]
    async fn a_password_is_sensitive_has_a_matching_bcrypt_hash_and_id_none() {
        let c = config(&[
            ("length", Value::Number(20.0)),
            ("min_special", Value::Number(2.0)),
        ]);
        let made = created(TextKind::Password, &c).await;
        let result = made.get("result").expect("result");
        assert!(result.is_sensitive());
        let result = result.as_str().expect("string");
        assert_eq!(result.chars().count(), 20);
        assert!(
            result
                .chars()
                .filter(|c| crate::charset::SPECIAL.contains(*c))
                .count()
                >= 2
        );
        let hash = made.get("bcrypt_hash").expect("hash");
        assert!(hash.is_sensitive());
        let hash = hash.as_str().expect("string");
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert!(bcrypt::verify(result, hash).expect("verify"));
        assert_eq!(made.str_attr("id"), Some("none"));
        assert_eq!(made.get("number"), Some(&Value::Bool(true)));
        assert_eq!(made.get("numeric"), Some(&Value::Bool(true)));
        assert_eq!(made.get("min_upper"), Some(&Value::Number(0.0)));
    }

    #[tokio::test]
    async fn a_string_is_its_own_id_and_plain() {
        let c = config(&[
            ("length", Value::Number(8.0)),
            ("special", Value::Bool(false)),
            ("upper", Value::Bool(false)),
            ("number", Value::Bool(false)),
        ]);
        let made = created(TextKind::String, &c).await;
        let result = made.str_attr("result").expect("result");
        assert!(!made.get("result").expect("result").is_sensitive());
        assert_eq!(made.str_attr("id"), Some(result));
        assert!(result.chars().all(|c| c.is_ascii_lowercase()), "{result}");
        assert_eq!(
            made.get("numeric"),
            Some(&Value::Bool(false)),
            "numeric follows number"
        );
        assert!(made.get("bcrypt_hash").is_none());
    }

    #[tokio::test]
    async fn the_same_configuration_plans_no_change_and_a_keeper_or_length_change_replaces() {
        let t = RandomText::new(TextKind::Password);
        let keepers = |v: &str| Value::Map([("k".to_string(), Value::string(v))].into());
        let c = config(&[("length", Value::Number(12.0)), ("keepers", keepers("a"))]);
        let made = created(TextKind::Password, &c).await;
        let same = t.plan(Some(&made), &c).expect("plan");
        assert!(same.requires_replace.is_empty());
        assert!(same.planned.same_as(&made));
        let rekept = t
            .plan(
                Some(&made),
                &config(&[("length", Value::Number(12.0)), ("keepers", keepers("b"))]),
            )
            .expect("plan");
        assert_eq!(rekept.requires_replace, vec!["keepers".to_string()]);
        assert_eq!(rekept.planned.get("result"), Some(&Value::Unknown));
        let longer = t
            .plan(
                Some(&made),
                &config(&[("length", Value::Number(13.0)), ("keepers", keepers("a"))]),
            )
            .expect("plan");
        assert_eq!(longer.requires_replace, vec!["length".to_string()]);
        // override_special from "" to null is the same set: no replacement.
        let mut with_empty = made.clone();
        with_empty = with(with_empty, "override_special", Value::string(""));
        let back = t.plan(Some(&with_empty), &c).expect("plan");
        assert!(
            back.requires_replace.is_empty(),
            "{:?}",
            back.requires_replace
        );
    }

    #[test]
    fn bad_arguments_are_refused_at_plan() {
        let t = RandomText::new(TextKind::String);
        let short = t.plan(
            None,
            &config(&[
                ("length", Value::Number(3.0)),
                ("min_upper", Value::Number(2.0)),
                ("min_lower", Value::Number(2.0)),
            ]),
        );
        assert!(short.expect_err("sum").message.contains("at least the sum"));
        let zero = t.plan(None, &config(&[("length", Value::Number(0.0))]));
        assert!(zero.expect_err("zero").message.contains("at least 1"));
        let both = t.plan(
            None,
            &config(&[
                ("length", Value::Number(3.0)),
                ("number", Value::Bool(true)),
                ("numeric", Value::Bool(false)),
            ]),
        );
        assert!(
            both.expect_err("disagree")
                .message
                .contains("different values")
        );
        let none = t.plan(
            None,
            &config(&[
                ("length", Value::Number(3.0)),
                ("upper", Value::Bool(false)),
                ("lower", Value::Bool(false)),
                ("numeric", Value::Bool(false)),
                ("special", Value::Bool(false)),
            ]),
        );
        assert!(none.is_err());
        // An unknown length is planned, not judged.
        assert!(t.plan(None, &config(&[("length", Value::Unknown)])).is_ok());
    }

    #[tokio::test]
    async fn import_takes_the_value_as_the_id() {
        let p = RandomText::new(TextKind::Password)
            .import("s3cr3t-Value")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(p.str_attr("result"), Some("s3cr3t-Value"));
        assert!(p.get("result").is_some_and(Value::is_sensitive));
        assert_eq!(p.get("length"), Some(&Value::Number(12.0)));
        assert_eq!(p.str_attr("id"), Some("none"));
        let hash = p.str_attr("bcrypt_hash").expect("hash");
        assert!(bcrypt::verify("s3cr3t-Value", hash).expect("verify"));
        let s = RandomText::new(TextKind::String)
            .import("abc")
            .await
            .expect("import")
            .expect("some");
        assert_eq!(s.str_attr("id"), Some("abc"));
        assert_eq!(s.get("keepers"), Some(&Value::Null));
        // The imported object plans no change against the defaults' configuration.
        let c = config(&[("length", Value::Number(3.0))]);
        let plan = RandomText::new(TextKind::String)
            .plan(Some(&s), &c)
            .expect("plan");
        assert!(
            plan.requires_replace.is_empty(),
            "{:?}",
            plan.requires_replace
        );
    }

    #[test]
    fn an_old_password_state_is_upgraded_with_defaults_numeric_and_a_hash() {
        let t = RandomText::new(TextKind::Password);
        let v0 = Value::object([
            ("id", Value::string("none")),
            ("keepers", Value::Null),
            ("length", Value::Null),
            ("special", Value::Null),
            ("upper", Value::Null),
            ("lower", Value::Null),
            ("number", Value::Null),
            ("min_numeric", Value::Null),
            ("min_upper", Value::Null),
            ("min_lower", Value::Null),
            ("min_special", Value::Null),
            ("override_special", Value::Null),
            ("result", Value::string("abcd")),
        ]);
        let up = t.upgrade_state(0, v0).expect("upgrade");
        assert_eq!(up.get("length"), Some(&Value::Number(4.0)));
        assert_eq!(up.get("numeric"), Some(&Value::Bool(true)));
        let hash = up.str_attr("bcrypt_hash").expect("hash");
        assert!(bcrypt::verify("abcd", hash).expect("verify"));
        assert!(t.upgrade_state(4, up).is_err(), "a newer state is refused");
    }
}
