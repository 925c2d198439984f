//! Addresses of resource instances: `aws_instance.app[1]`, `aws_sqs_queue.work["uploads"]`,
//! `data.aws_region.current`, and in child modules `module.queue[0].aws_sqs_queue.q`.

use std::fmt;

use forge_config::Mode;

/// The key of one instance of a resource with `count` (number) or `for_each` (string).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", serde_json::Value::String(s.clone())),
        }
    }
}

/// One step of a module instance's path: the call's name and, with count/for_each, the key.
pub type ModuleStep = (String, Option<InstanceKey>);

/// `module.a[0].module.b`: Terraform's spelling of a module instance (empty for the root).
pub fn module_path_string(path: &[ModuleStep]) -> String {
    path.iter()
        .map(|(name, key)| match key {
            Some(k) => format!("module.{name}{k}"),
            None => format!("module.{name}"),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Parses the leading `module.a[0].module.b.` steps of `text`; returns them and the rest.
/// `None` when a step is malformed.
pub(crate) fn parse_module_prefix(mut text: &str) -> Option<(Vec<ModuleStep>, &str)> {
    let mut steps = Vec::new();
    while let Some(rest) = text.strip_prefix("module.") {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty() {
            return None;
        }
        let mut rest = &rest[end..];
        let mut key = None;
        if let Some(inner) = rest.strip_prefix('[') {
            let (k, used) = parse_key(inner)?;
            key = Some(k);
            rest = inner[used..].strip_prefix(']')?;
        }
        steps.push((name.to_string(), key));
        text = match rest.strip_prefix('.') {
            Some(r) => r,
            None if rest.is_empty() => "",
            None => return None,
        };
    }
    Some((steps, text))
}

/// A key at the start of `text` (`0` or `"k"`, the latter as JSON so it may hold `]` or
/// `.`); returns it and how many bytes it took.
fn parse_key(text: &str) -> Option<(InstanceKey, usize)> {
    if text.starts_with('"') {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<String>();
        let s = stream.next()?.ok()?;
        return Some((InstanceKey::Str(s), stream.byte_offset()));
    }
    let end = text.find(']')?;
    Some((InstanceKey::Int(text[..end].trim().parse().ok()?), end))
}

/// One resource instance's address within a unit. Sorted as Terraform sorts them (plan
/// JSON, state): by module instance, shorter module paths first, then by resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstanceAddr {
    /// The module instance it belongs to; empty in the root module.
    pub module: Vec<ModuleStep>,
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    pub key: Option<InstanceKey>,
}

impl Ord for InstanceAddr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Data sources before managed resources, as Terraform orders plan changes and
        // state ("data" < "managed").
        fn key(
            a: &InstanceAddr,
        ) -> (
            usize,
            &Vec<ModuleStep>,
            bool,
            &String,
            &String,
            &Option<InstanceKey>,
        ) {
            (
                a.module.len(),
                &a.module,
                a.mode == Mode::Managed,
                &a.type_name,
                &a.name,
                &a.key,
            )
        }
        key(self).cmp(&key(other))
    }
}

impl PartialOrd for InstanceAddr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl InstanceAddr {
    pub fn managed(type_name: &str, name: &str, key: Option<InstanceKey>) -> Self {
        InstanceAddr {
            module: Vec::new(),
            mode: Mode::Managed,
            type_name: type_name.into(),
            name: name.into(),
            key,
        }
    }

    /// The same resource instance in the module instance `module`.
    pub(crate) fn in_module(self, module: Vec<ModuleStep>) -> Self {
        InstanceAddr { module, ..self }
    }

    /// `type.name` or `data.type.name`, without module path or key.
    pub fn local_resource(&self) -> String {
        match self.mode {
            Mode::Managed => format!("{}.{}", self.type_name, self.name),
            Mode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }

    /// `module.a[0].module.b`, or `None` in the root module (the state's `module` field and
    /// plan JSON's `module_address`).
    pub fn module_address(&self) -> Option<String> {
        (!self.module.is_empty()).then(|| module_path_string(&self.module))
    }

    /// The address without the instance key (`aws_instance.app`,
    /// `module.a[0].aws_instance.app`).
    pub fn resource(&self) -> String {
        match self.module_address() {
            Some(m) => format!("{m}.{}", self.local_resource()),
            None => self.local_resource(),
        }
    }

    /// The resource block's address in the configuration: module keys left out
    /// (`module.a.aws_instance.app`). Graph node names and state `dependencies` use it.
    pub fn config_resource(&self) -> String {
        let mut out = String::new();
        for (name, _) in &self.module {
            out.push_str(&format!("module.{name}."));
        }
        out.push_str(&self.local_resource());
        out
    }

    /// Parses `type.name`, `type.name[0]`, `type.name["k"]`, `data.type.name`, each
    /// optionally after a module path (`module.a["x"].module.b.type.name`).
    pub fn parse(text: &str) -> Option<InstanceAddr> {
        let (module, text) = parse_module_prefix(text)?;
        let (base, key) = match text.find('[') {
            Some(i) if text.ends_with(']') => {
                let inner = &text[i + 1..text.len() - 1];
                let key = if let Ok(n) = inner.parse::<i64>() {
                    InstanceKey::Int(n)
                } else {
                    InstanceKey::Str(serde_json::from_str::<String>(inner).ok()?)
                };
                (&text[..i], Some(key))
            }
            Some(_) => return None,
            None => (text, None),
        };
        let parts: Vec<&str> = base.split('.').collect();
        let (mode, t, n) = match parts.as_slice() {
            ["data", t, n] => (Mode::Data, *t, *n),
            [t, n] => (Mode::Managed, *t, *n),
            _ => return None,
        };
        if t.is_empty() || n.is_empty() {
            return None;
        }
        Some(InstanceAddr {
            module,
            mode,
            type_name: t.into(),
            name: n.into(),
            key,
        })
    }
}

impl fmt::Display for InstanceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.resource())?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_and_parse() {
        let a = InstanceAddr::managed(
            "aws_sqs_queue",
            "work",
            Some(InstanceKey::Str("uploads".into())),
        );
        assert_eq!(a.to_string(), "aws_sqs_queue.work[\"uploads\"]");
        assert_eq!(InstanceAddr::parse(&a.to_string()), Some(a));
        let b = InstanceAddr::parse("aws_instance.app[1]").expect("parse");
        assert_eq!(b.key, Some(InstanceKey::Int(1)));
        assert_eq!(
            InstanceAddr::parse("data.aws_region.r").map(|a| a.mode),
            Some(Mode::Data)
        );
        assert_eq!(InstanceAddr::parse("nodot"), None);
        let m = InstanceAddr::parse(r#"module.a["x.]y"].module.b[2].aws_sqs_queue.q[0]"#)
            .expect("module address");
        assert_eq!(
            m.module,
            vec![
                ("a".to_string(), Some(InstanceKey::Str("x.]y".into()))),
                ("b".to_string(), Some(InstanceKey::Int(2)))
            ]
        );
        assert_eq!(
            m.to_string(),
            r#"module.a["x.]y"].module.b[2].aws_sqs_queue.q[0]"#
        );
        assert_eq!(m.config_resource(), "module.a.module.b.aws_sqs_queue.q");
        assert_eq!(
            m.module_address().as_deref(),
            Some(r#"module.a["x.]y"].module.b[2]"#)
        );
        assert_eq!(
            InstanceAddr::parse("module.a.data.x.y").map(|a| (a.mode, a.resource())),
            Some((Mode::Data, "module.a.data.x.y".into()))
        );
        assert_eq!(InstanceAddr::parse("module..x.y"), None);
        assert_eq!(InstanceAddr::parse("module.a[zz].x.y"), None);
    }
}
