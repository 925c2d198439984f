//! State and plan encryption settings, in OpenTofu's model: key providers, methods that
//! take their keys from a key provider, and the `state` and `plan` targets naming a
//! method with its fallbacks. Two spellings are read:
//!
//! - OpenTofu's `terraform { encryption { key_provider "pbkdf2" "k" {...} method "aes_gcm"
//!   "m" { keys = key_provider.pbkdf2.k } state { method = method.aes_gcm.m } } }` in the
//!   module (`from_block`);
//! - Terragrunt's `remote_state { encryption = { key_provider = "pbkdf2", passphrase = ...
//!   } }` (`from_terragrunt`), which Terragrunt turns into that block with the key provider
//!   and the method both named `default`, used for state and plan.
//!
//! Only the shape is checked here; what each key provider and method accepts is the
//! engine's (`forge-engine::encryption`), which builds the keys.

use std::collections::BTreeMap;
use std::fmt;

use forge_lang::{Block, Diagnostic, Diagnostics, Location, Scope};
use forge_provider::Value;

/// The name Terragrunt gives the key provider and the method it generates.
pub const TERRAGRUNT_DEFAULT_NAME: &str = "default";

/// An `encryption` configuration, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct EncryptionSettings {
    pub key_providers: Vec<KeyProviderSettings>,
    pub methods: Vec<MethodSettings>,
    pub state: Option<TargetSettings>,
    pub plan: Option<TargetSettings>,
    pub location: Location,
}

/// `key_provider "TYPE" "NAME" { ... }` with its arguments evaluated. The arguments hold
/// passphrases: Debug prints their names only.
#[derive(Clone, PartialEq)]
pub struct KeyProviderSettings {
    pub kind: String,
    pub name: String,
    pub arguments: BTreeMap<String, Value>,
    /// `chain = key_provider.TYPE.NAME`: the key provider whose key is this one's
    /// passphrase (OpenTofu's chaining), as (type, name).
    pub chain: Option<(String, String)>,
    pub location: Location,
}

/// `method "TYPE" "NAME" { keys = key_provider.T.N, aad = ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodSettings {
    pub kind: String,
    pub name: String,
    /// The key provider `keys` names (type, name); `None` for `unencrypted`.
    pub keys: Option<(String, String)>,
    /// Additional authenticated data (aes_gcm's `aad`), as bytes.
    pub aad: Option<Vec<u8>>,
    pub location: Location,
}

/// A `state` or `plan` block: the method that writes, then the fallbacks that may also
/// read, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetSettings {
    pub enforced: bool,
    /// (type, name) of each method: the first encrypts, every one may decrypt.
    pub methods: Vec<(String, String)>,
    pub location: Location,
}

impl fmt::Debug for KeyProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyProviderSettings")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("arguments", &self.arguments.keys().collect::<Vec<_>>())
            .field("chain", &self.chain)
            .field("location", &self.location)
            .finish()
    }
}

impl EncryptionSettings {
    pub fn method(&self, kind: &str, name: &str) -> Option<&MethodSettings> {
        self.methods
            .iter()
            .find(|m| m.kind == kind && m.name == name)
    }

    pub fn key_provider(&self, kind: &str, name: &str) -> Option<&KeyProviderSettings> {
        self.key_providers
            .iter()
            .find(|k| k.kind == kind && k.name == name)
    }

    /// Terragrunt's `remote_state { encryption = { key_provider = "pbkdf2", ... } }`: the
    /// object's other members are the key provider's arguments.
    pub fn from_terragrunt(value: &Value, location: Location) -> Result<Self, Diagnostics> {
        let members = match value.unmarked() {
            Value::Object(m) | Value::Map(m) => m,
            other => {
                return Err(Diagnostic::error(format!(
                    "remote_state encryption must be an object, not {}",
                    other.kind_name()
                ))
                .at(location)
                .hint("write: encryption = { key_provider = \"pbkdf2\", passphrase = get_env(\"STATE_PASSPHRASE\") }")
                .into());
            }
        };
        let Some(kind) = members
            .get("key_provider")
            .and_then(|v| v.unmarked().as_str())
        else {
            return Err(Diagnostic::error("remote_state encryption needs key_provider")
                .at(location)
                .hint("key_provider = \"pbkdf2\" (with passphrase) or \"aws_kms\" (with kms_key_id, key_spec, region)")
                .into());
        };
        let arguments: BTreeMap<String, Value> = members
            .iter()
            .filter(|(k, _)| k.as_str() != "key_provider")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let name = TERRAGRUNT_DEFAULT_NAME.to_string();
        let method = ("aes_gcm".to_string(), name.clone());
        let target = TargetSettings {
            enforced: false,
            methods: vec![method.clone()],
            location: location.clone(),
        };
        Ok(EncryptionSettings {
            key_providers: vec![KeyProviderSettings {
                kind: kind.to_string(),
                name: name.clone(),
                arguments,
                chain: None,
                location: location.clone(),
            }],
            methods: vec![MethodSettings {
                kind: method.0,
                name,
                keys: Some((kind.to_string(), TERRAGRUNT_DEFAULT_NAME.to_string())),
                aad: None,
                location: location.clone(),
            }],
            state: Some(target.clone()),
            plan: Some(target),
            location,
        })
    }

    /// OpenTofu's `encryption { ... }` block inside a module's `terraform` block. Its
    /// arguments are evaluated with Terraform's functions only: forge reads the state
    /// before the module's variables have values, so a reference is an error saying so.
    pub fn from_block(block: &Block, scope: &Scope<'_>) -> Result<Self, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut settings = EncryptionSettings {
            key_providers: Vec::new(),
            methods: Vec::new(),
            state: None,
            plan: None,
            location: block.location.clone(),
        };
        for attr in &block.body.attributes {
            diags.push(
                Diagnostic::error(format!("unknown argument `{}` in encryption", attr.name))
                    .at(attr.location.clone())
                    .hint("encryption takes blocks: key_provider, method, state, plan"),
            );
        }
        for inner in &block.body.blocks {
            match inner.ident.as_str() {
                "key_provider" => match two_labels(inner).and_then(|(kind, name)| {
                    let mut arguments = BTreeMap::new();
                    let mut chain = None;
                    let mut diags = Diagnostics::new();
                    for attr in &inner.body.attributes {
                        if attr.name == "chain" {
                            match reference(attr, "key_provider") {
                                Ok(r) => chain = Some(r),
                                Err(d) => diags.extend(d),
                            }
                            continue;
                        }
                        match forge_lang::eval(&attr.expr, scope) {
                            Ok(v) => {
                                arguments.insert(attr.name.clone(), v);
                            }
                            Err(d) => diags.extend(static_only(d, attr.expr.location())),
                        }
                    }
                    if diags.has_errors() {
                        return Err(diags);
                    }
                    Ok(KeyProviderSettings {
                        kind,
                        name,
                        arguments,
                        chain,
                        location: inner.location.clone(),
                    })
                }) {
                    Ok(k) => settings.key_providers.push(k),
                    Err(d) => diags.extend(d),
                },
                "method" => match read_method(inner, scope) {
                    Ok(m) => settings.methods.push(m),
                    Err(d) => diags.extend(d),
                },
                "state" | "plan" => match read_target(inner, scope) {
                    Ok(t) if inner.ident == "state" => settings.state = Some(t),
                    Ok(t) => settings.plan = Some(t),
                    Err(d) => diags.extend(d),
                },
                "remote_state_data_sources" => diags.push(
                    Diagnostic::error(
                        "encryption's remote_state_data_sources is not supported by forge",
                    )
                    .at(inner.location.clone())
                    .hint("remove it: forge reads other units' states through dependency blocks"),
                ),
                other => diags.push(
                    Diagnostic::error(format!("unknown block `{other}` in encryption"))
                        .at(inner.location.clone())
                        .hint("encryption takes: key_provider, method, state, plan"),
                ),
            }
        }
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(settings)
        }
    }
}

fn two_labels(block: &Block) -> Result<(String, String), Diagnostics> {
    match block.labels.as_slice() {
        [kind, name] => Ok((kind.clone(), name.clone())),
        _ => Err(Diagnostic::error(format!(
            "{} needs two labels, its type and its name",
            block.ident
        ))
        .at(block.location.clone())
        .hint(format!(
            "write: {} \"TYPE\" \"NAME\" {{ ... }}",
            block.ident
        ))
        .into()),
    }
}

/// An evaluation error of an encryption argument, with why references cannot work.
fn static_only(diags: Diagnostics, at: Location) -> Diagnostics {
    let mut out = diags;
    out.push(
        Diagnostic::error("encryption arguments must be known before the state is read")
            .at(at)
            .hint("use a literal or a function such as file(...); with Terragrunt, remote_state { encryption = { passphrase = get_env(\"...\") } } takes any Terragrunt expression"),
    );
    out
}

/// `key_provider.TYPE.NAME` / `method.TYPE.NAME` as (type, name).
fn reference(attr: &forge_lang::Attribute, root: &str) -> Result<(String, String), Diagnostics> {
    let wrong = || {
        Diagnostics::from(
            Diagnostic::error(format!(
                "`{}` must name a {root} as {root}.TYPE.NAME",
                attr.name
            ))
            .at(attr.expr.location()),
        )
    };
    let r = attr.expr.as_traversal().ok_or_else(wrong)?;
    let names: Vec<&str> = r
        .steps
        .iter()
        .filter_map(|s| match s {
            forge_lang::RefStep::Attr(a) => Some(a.as_str()),
            _ => None,
        })
        .collect();
    match (r.root.as_str(), names.as_slice(), r.steps.len()) {
        (found, [kind, name], 2) if found == root => Ok((kind.to_string(), name.to_string())),
        _ => Err(wrong()),
    }
}

fn read_method(block: &Block, scope: &Scope<'_>) -> Result<MethodSettings, Diagnostics> {
    let (kind, name) = two_labels(block)?;
    let mut method = MethodSettings {
        kind,
        name,
        keys: None,
        aad: None,
        location: block.location.clone(),
    };
    for attr in &block.body.attributes {
        match attr.name.as_str() {
            "keys" => method.keys = Some(reference(attr, "key_provider")?),
            "aad" => {
                let v = forge_lang::eval(&attr.expr, scope)
                    .map_err(|d| static_only(d, attr.expr.location()))?;
                method.aad = Some(byte_list(&v).ok_or_else(|| {
                    Diagnostics::from(
                        Diagnostic::error("aad must be a list of bytes (numbers 0 to 255)")
                            .at(attr.expr.location()),
                    )
                })?);
            }
            other => {
                return Err(Diagnostic::error(format!(
                    "unknown argument `{other}` in method \"{}\"",
                    method.kind
                ))
                .at(attr.location.clone())
                .hint("a method takes: keys, aad")
                .into());
            }
        }
    }
    Ok(method)
}

fn byte_list(v: &Value) -> Option<Vec<u8>> {
    match v.unmarked() {
        Value::List(items) | Value::Tuple(items) => items
            .iter()
            .map(|i| i.unmarked().as_i64().and_then(|n| u8::try_from(n).ok()))
            .collect(),
        _ => None,
    }
}

fn read_target(block: &Block, scope: &Scope<'_>) -> Result<TargetSettings, Diagnostics> {
    let mut target = TargetSettings {
        enforced: false,
        methods: Vec::new(),
        location: block.location.clone(),
    };
    let mut current = block;
    loop {
        for attr in &current.body.attributes {
            match attr.name.as_str() {
                "method" => target.methods.push(reference(attr, "method")?),
                "enforced" if std::ptr::eq(current, block) => {
                    let v = forge_lang::eval(&attr.expr, scope)
                        .map_err(|d| static_only(d, attr.expr.location()))?;
                    target.enforced = v.unmarked().as_bool().ok_or_else(|| {
                        Diagnostics::from(
                            Diagnostic::error("enforced must be true or false")
                                .at(attr.expr.location()),
                        )
                    })?;
                }
                other => {
                    return Err(Diagnostic::error(format!(
                        "unknown argument `{other}` in {}",
                        current.ident
                    ))
                    .at(attr.location.clone())
                    .hint("takes: method, enforced (state and plan only), and a fallback block")
                    .into());
                }
            }
        }
        let mut fallbacks = current.body.blocks_of("fallback");
        let next = fallbacks.next();
        if let Some(extra) = fallbacks.next() {
            return Err(Diagnostic::error("only one fallback block per level")
                .at(extra.location.clone())
                .hint("nest the next fallback inside this one")
                .into());
        }
        if let Some(other) = current.body.blocks.iter().find(|b| b.ident != "fallback") {
            return Err(Diagnostic::error(format!(
                "unknown block `{}` in {}",
                other.ident, current.ident
            ))
            .at(other.location.clone())
            .into());
        }
        match next {
            Some(f) => current = f,
            None => break,
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn body(text: &str) -> forge_lang::Body {
        forge_lang::parse_str(Path::new("main.tf"), text.to_string()).expect("parses")
    }

    #[test]
    fn terragrunts_form_is_opentofus_block_with_default_names() {
        let value = Value::Object(BTreeMap::from([
            ("key_provider".to_string(), Value::string("pbkdf2")),
            (
                "passphrase".to_string(),
                Value::string("a-passphrase-long-enough").sensitive(),
            ),
        ]));
        let location = body("x = 1\n").attributes[0].location.clone();
        let s = EncryptionSettings::from_terragrunt(&value, location).expect("settings");
        let kp = s.key_provider("pbkdf2", "default").expect("key provider");
        assert!(kp.arguments.contains_key("passphrase"));
        assert!(!kp.arguments.contains_key("key_provider"));
        let m = s.method("aes_gcm", "default").expect("method");
        assert_eq!(m.keys, Some(("pbkdf2".into(), "default".into())));
        for t in [&s.state, &s.plan] {
            let t = t.as_ref().expect("target");
            assert_eq!(t.methods, [("aes_gcm".to_string(), "default".to_string())]);
            assert!(!t.enforced);
        }
        assert!(
            !format!("{s:?}").contains("a-passphrase-long-enough"),
            "Debug shows the passphrase"
        );
    }

    #[test]
    fn opentofus_block_with_fallback_chain_and_enforced() {
        let b = body(
            r#"encryption {
  key_provider "pbkdf2" "new" {
    passphrase = "the-new-passphrase-long"
  }
  key_provider "pbkdf2" "old" {
    passphrase = "the-old-passphrase-long"
    iterations = 200000
  }
  method "aes_gcm" "new" {
    keys = key_provider.pbkdf2.new
    aad  = [1, 2, 3]
  }
  method "aes_gcm" "old" {
    keys = key_provider.pbkdf2.old
  }
  state {
    method   = method.aes_gcm.new
    enforced = true
    fallback {
      method = method.aes_gcm.old
    }
  }
}
"#,
        );
        let block = &b.blocks[0];
        let s = EncryptionSettings::from_block(block, &Scope::new(".")).expect("settings");
        let state = s.state.expect("state");
        assert!(state.enforced);
        assert_eq!(
            state.methods,
            [
                ("aes_gcm".to_string(), "new".to_string()),
                ("aes_gcm".to_string(), "old".to_string())
            ]
        );
        assert_eq!(s.methods[0].aad.as_deref(), Some(&[1u8, 2, 3][..]));
        assert!(s.plan.is_none());
    }

    #[test]
    fn a_key_provider_chained_to_another_names_it() {
        let b = body(
            r#"encryption {
  key_provider "aws_kms" "kms" {
    kms_key_id = "alias/state"
    key_spec   = "AES_256"
    region     = "us-east-1"
  }
  key_provider "pbkdf2" "p" {
    chain = key_provider.aws_kms.kms
  }
  method "aes_gcm" "m" {
    keys = key_provider.pbkdf2.p
  }
  state {
    method = method.aes_gcm.m
  }
}
"#,
        );
        let s = EncryptionSettings::from_block(&b.blocks[0], &Scope::new(".")).expect("settings");
        let p = s.key_provider("pbkdf2", "p").expect("pbkdf2");
        assert_eq!(p.chain, Some(("aws_kms".to_string(), "kms".to_string())));
        assert!(p.arguments.is_empty());
        let kms = s.key_provider("aws_kms", "kms").expect("aws_kms");
        assert_eq!(kms.chain, None);
        assert_eq!(kms.arguments.len(), 3);
        let bad = body(
            r#"encryption {
  key_provider "pbkdf2" "p" {
    chain = "key_provider.aws_kms.kms"
  }
}
"#,
        );
        let err = EncryptionSettings::from_block(&bad.blocks[0], &Scope::new("."))
            .expect_err("a string chain accepted");
        let text = format!("{err:?}");
        assert!(text.contains("`chain` must name a key_provider"), "{text}");
    }

    #[test]
    fn references_and_wrong_shapes_are_errors_at_their_place() {
        let b = body(
            r#"encryption {
  key_provider "pbkdf2" "k" {
    passphrase = var.passphrase
  }
  method "aes_gcm" "m" {
    keys = "key_provider.pbkdf2.k"
  }
}
"#,
        );
        let err =
            EncryptionSettings::from_block(&b.blocks[0], &Scope::new(".")).expect_err("accepted");
        let text = format!("{err:?}");
        assert!(
            text.contains("must be known before the state is read"),
            "{text}"
        );
        assert!(text.contains("main.tf"), "{text}");
    }

    #[test]
    fn remote_state_debug_names_config_keys_not_values() {
        let location = body("x = 1\n").attributes[0].location.clone();
        let rs = crate::RemoteState {
            backend: "s3".into(),
            config: Value::Object(BTreeMap::from([(
                "secret_key".to_string(),
                Value::string("wJalrXUtnFEMI-example"),
            )])),
            encryption: None,
            location,
        };
        let text = format!("{rs:?}");
        assert!(
            text.contains("secret_key") && !text.contains("wJalrXUtnFEMI"),
            "{text}"
        );
    }
}
