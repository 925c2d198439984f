//! What every service's discovery shares: whether an object carries a configuration's
//! default tags (all of them, with the same values) or the filter's name prefix.

use std::collections::BTreeMap;

use forge_provider::{Discovered, DiscoveryFilter};

use crate::AwsContext;

/// The marks of one configuration: its default tags and the run's name prefix.
pub struct Marks<'a> {
    pub default_tags: &'a BTreeMap<String, String>,
    pub name_prefix: Option<&'a str>,
}

impl<'a> Marks<'a> {
    pub fn new(ctx: &'a AwsContext, filter: &'a DiscoveryFilter) -> Marks<'a> {
        Marks {
            default_tags: &ctx.default_tags,
            name_prefix: filter.name_prefix.as_deref().filter(|p| !p.is_empty()),
        }
    }

    /// Nothing would match: no default tags and no prefix.
    pub fn is_empty(&self) -> bool {
        self.default_tags.is_empty() && self.name_prefix.is_none()
    }

    /// Why the object is the environment's, or `None` when it is not.
    pub fn of(&self, name: &str, tags: &BTreeMap<String, String>) -> Option<String> {
        let tagged = !self.default_tags.is_empty()
            && self
                .default_tags
                .iter()
                .all(|(k, v)| tags.get(k) == Some(v));
        if tagged {
            let pairs: Vec<String> = self
                .default_tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            return Some(format!("tags {}", pairs.join(", ")));
        }
        match self.name_prefix {
            Some(p) if name.starts_with(p) => Some(format!("name prefix {p}")),
            _ => None,
        }
    }

    /// The object as found, when it is the environment's.
    pub fn found(
        &self,
        type_name: &str,
        id: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Option<Discovered> {
        self.of(name, tags).map(|marked_by| Discovered {
            type_name: type_name.to_string(),
            id: id.to_string(),
            name: name.to_string(),
            marked_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_default_tags_or_the_prefix_mark_an_object() {
        let defaults = BTreeMap::from([
            ("Environment".to_string(), "production".to_string()),
            ("Project".to_string(), "shop".to_string()),
        ]);
        let marks = Marks {
            default_tags: &defaults,
            name_prefix: Some("production-"),
        };
        let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let both = tags(&[
            ("Environment", "production"),
            ("Project", "shop"),
            ("x", "1"),
        ]);
        assert_eq!(
            marks.of("anything", &both).as_deref(),
            Some("tags Environment=production, Project=shop")
        );
        // One default tag missing or different: not by tags.
        let one = tags(&[("Environment", "production")]);
        assert_eq!(marks.of("other", &one), None);
        let staging = tags(&[("Environment", "staging"), ("Project", "shop")]);
        assert_eq!(marks.of("other", &staging), None);
        // The prefix alone marks it.
        assert_eq!(
            marks.of("production-orders", &one).as_deref(),
            Some("name prefix production-")
        );
        let none = BTreeMap::new();
        let unmarked = Marks {
            default_tags: &none,
            name_prefix: None,
        };
        assert!(unmarked.is_empty());
        assert_eq!(unmarked.of("production-orders", &both), None);
    }
}
