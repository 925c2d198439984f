//! Addresses of resource instances: `aws_instance.app[1]`, `aws_sqs_queue.work["uploads"]`,
//! `data.aws_region.current`.

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

/// One resource instance's address within a unit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceAddr {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    pub key: Option<InstanceKey>,
}

impl InstanceAddr {
    pub fn managed(type_name: &str, name: &str, key: Option<InstanceKey>) -> Self {
        InstanceAddr { mode: Mode::Managed, type_name: type_name.into(), name: name.into(), key }
    }

    /// The address without the instance key (`aws_instance.app`).
    pub fn resource(&self) -> String {
        match self.mode {
            Mode::Managed => format!("{}.{}", self.type_name, self.name),
            Mode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }

    /// Parses `type.name`, `type.name[0]`, `type.name["k"]`, `data.type.name`.
    pub fn parse(text: &str) -> Option<InstanceAddr> {
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
        Some(InstanceAddr { mode, type_name: t.into(), name: n.into(), key })
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
        let a = InstanceAddr::managed("aws_sqs_queue", "work", Some(InstanceKey::Str("uploads".into())));
        assert_eq!(a.to_string(), "aws_sqs_queue.work[\"uploads\"]");
        assert_eq!(InstanceAddr::parse(&a.to_string()), Some(a));
        let b = InstanceAddr::parse("aws_instance.app[1]").expect("parse");
        assert_eq!(b.key, Some(InstanceKey::Int(1)));
        assert_eq!(InstanceAddr::parse("data.aws_region.r").map(|a| a.mode), Some(Mode::Data));
        assert_eq!(InstanceAddr::parse("nodot"), None);
    }
}
