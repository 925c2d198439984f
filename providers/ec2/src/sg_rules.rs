//! Security group rules and their normal form.
//!
//! A rule block in configuration names several sources at once (`cidr_blocks = [a, b]`,
//! `self = true`, ...) while AWS groups rules by protocol and port range, spells
//! protocols as numbers or `-1`, and drops the ports of "all traffic" rules. To compare
//! the two, every rule is split into atomic rules: one protocol, one port range, one
//! source, one description. Two rule lists mean the same thing exactly when their sets
//! of atomic rules are equal; updates authorize and revoke the atomic difference.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};
use forge_provider::{
    AttrType, Attribute, BlockType, ProviderError, ProviderResult, Schema, Value,
};

use crate::common::{string_list, string_list_value, string_set};

/// Where traffic comes from (ingress) or goes to (egress).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Cidr(String),
    Ipv6(String),
    PrefixList(String),
    Group(String),
    /// The security group itself (`self = true`).
    OwnGroup,
}

/// One protocol, one port range, one source and one description.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AtomicRule {
    pub protocol: String,
    pub from_port: i64,
    pub to_port: i64,
    pub source: Source,
    pub description: String,
}

/// The schema of an `ingress` or `egress` block (Terraform's attribute names).
pub fn rule_block() -> BlockType {
    let strings = || AttrType::List(Box::new(AttrType::String));
    BlockType {
        schema: Schema::new()
            .attr("from_port", Attribute::required(AttrType::Number))
            .attr("to_port", Attribute::required(AttrType::Number))
            .attr("protocol", Attribute::required(AttrType::String))
            .attr("cidr_blocks", Attribute::optional(strings()))
            .attr("ipv6_cidr_blocks", Attribute::optional(strings()))
            .attr("prefix_list_ids", Attribute::optional(strings()))
            .attr(
                "security_groups",
                Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
            )
            .attr("self", Attribute::optional(AttrType::Bool))
            .attr("description", Attribute::optional(AttrType::String)),
        unordered: true,
        ..Default::default()
    }
}

/// Terraform's spelling of a protocol: `-1` for all traffic, names for the protocols
/// that have one, anything else (other protocol numbers) as given, lower-cased.
pub fn normalize_protocol(p: &str) -> String {
    let p = p.trim().to_ascii_lowercase();
    match p.as_str() {
        "all" | "-1" => "-1".to_string(),
        "6" => "tcp".to_string(),
        "17" => "udp".to_string(),
        "1" => "icmp".to_string(),
        "58" => "icmpv6".to_string(),
        _ => p,
    }
}

/// A configured rule with every attribute filled as Terraform stores it: empty lists
/// instead of null, `self = false`, `description = ""`, the protocol normalised.
/// Unknown parts stay unknown.
pub fn normalize_rule(rule: &Value) -> Value {
    let list_or_empty = |name: &str| match rule.get(name) {
        None => Value::List(Vec::new()),
        Some(v) if v.is_null() => Value::List(Vec::new()),
        Some(v) if !v.is_wholly_known() => v.clone(),
        Some(_) => string_list_value(string_list(rule, name)),
    };
    let security_groups = match rule.get("security_groups") {
        Some(v) if !v.is_null() && !v.is_wholly_known() => v.clone(),
        _ => string_set(string_list(rule, "security_groups")),
    };
    let protocol = match rule.get("protocol") {
        Some(Value::String(p)) => Value::String(normalize_protocol(p)),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let or_default = |name: &str, default: Value| match rule.get(name) {
        None => default,
        Some(v) if v.is_null() => default,
        Some(v) => v.clone(),
    };
    Value::object([
        ("cidr_blocks", list_or_empty("cidr_blocks")),
        ("description", or_default("description", Value::string(""))),
        ("from_port", or_default("from_port", Value::Null)),
        ("ipv6_cidr_blocks", list_or_empty("ipv6_cidr_blocks")),
        ("prefix_list_ids", list_or_empty("prefix_list_ids")),
        ("protocol", protocol),
        ("security_groups", security_groups),
        ("self", or_default("self", Value::Bool(false))),
        ("to_port", or_default("to_port", Value::Null)),
    ])
}

/// Splits configured (or stored) rules into atomic rules. `kind` (`ingress`/`egress`)
/// names the block in errors.
pub fn atomize(rules: &[Value], kind: &str) -> ProviderResult<BTreeSet<AtomicRule>> {
    let mut out = BTreeSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let port = |name: &str| {
            rule.get(name).and_then(Value::as_i64).ok_or_else(|| {
                ProviderError::new(format!(
                    "{kind} rule #{}: `{name}` must be a whole number",
                    i + 1
                ))
                .hint("set from_port and to_port (use 0 and 0 with protocol \"-1\")")
            })
        };
        let protocol =
            rule.str_attr("protocol")
                .map(normalize_protocol)
                .ok_or_else(|| {
                    ProviderError::new(format!("{kind} rule #{}: `protocol` is required", i + 1))
                .hint("use \"tcp\", \"udp\", \"icmp\", \"-1\" (all traffic) or a protocol number")
                })?;
        let (from_port, to_port) = if protocol == "-1" {
            (0, 0)
        } else {
            (port("from_port")?, port("to_port")?)
        };
        let description = rule.str_attr("description").unwrap_or_default().to_string();
        let mut sources: Vec<Source> = Vec::new();
        sources.extend(
            string_list(rule, "cidr_blocks")
                .into_iter()
                .map(Source::Cidr),
        );
        sources.extend(
            string_list(rule, "ipv6_cidr_blocks")
                .into_iter()
                .map(Source::Ipv6),
        );
        sources.extend(
            string_list(rule, "prefix_list_ids")
                .into_iter()
                .map(Source::PrefixList),
        );
        sources.extend(
            string_list(rule, "security_groups")
                .into_iter()
                .map(Source::Group),
        );
        if rule.get("self").and_then(Value::as_bool) == Some(true) {
            sources.push(Source::OwnGroup);
        }
        if sources.is_empty() {
            return Err(ProviderError::new(format!(
                "{kind} rule #{} ({protocol} {from_port}-{to_port}) names no source",
                i + 1
            ))
            .hint("set at least one of cidr_blocks, ipv6_cidr_blocks, prefix_list_ids, security_groups or self = true"));
        }
        for source in sources {
            out.insert(AtomicRule {
                protocol: protocol.clone(),
                from_port,
                to_port,
                source,
                description: description.clone(),
            });
        }
    }
    Ok(out)
}

/// The atomic rules of the permissions AWS reports for the group `own_group_id`.
pub fn atomize_aws(perms: &[IpPermission], own_group_id: &str) -> BTreeSet<AtomicRule> {
    let mut out = BTreeSet::new();
    for perm in perms {
        let protocol = normalize_protocol(perm.ip_protocol().unwrap_or("-1"));
        let (from_port, to_port) = if protocol == "-1" {
            (0, 0)
        } else {
            (
                i64::from(perm.from_port().unwrap_or(0)),
                i64::from(perm.to_port().unwrap_or(0)),
            )
        };
        let mut add = |source: Source, description: Option<&str>| {
            out.insert(AtomicRule {
                protocol: protocol.clone(),
                from_port,
                to_port,
                source,
                description: description.unwrap_or_default().to_string(),
            });
        };
        for r in perm.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                add(Source::Cidr(c.to_string()), r.description());
            }
        }
        for r in perm.ipv6_ranges() {
            if let Some(c) = r.cidr_ipv6() {
                add(Source::Ipv6(c.to_string()), r.description());
            }
        }
        for p in perm.prefix_list_ids() {
            if let Some(id) = p.prefix_list_id() {
                add(Source::PrefixList(id.to_string()), p.description());
            }
        }
        for pair in perm.user_id_group_pairs() {
            match pair.group_id() {
                Some(id) if id == own_group_id => add(Source::OwnGroup, pair.description()),
                Some(id) => add(Source::Group(id.to_string()), pair.description()),
                None => {}
            }
        }
    }
    out
}

/// Atomic rules grouped back into rule blocks: one block per protocol, port range and
/// description, in a stable order.
pub fn rules_value(rules: &BTreeSet<AtomicRule>) -> Value {
    let mut groups: Vec<(&AtomicRule, Vec<&Source>)> = Vec::new();
    for rule in rules {
        match groups.iter_mut().find(|(head, _)| same_group(head, rule)) {
            Some((_, sources)) => sources.push(&rule.source),
            None => groups.push((rule, vec![&rule.source])),
        }
    }
    let items = groups
        .into_iter()
        .map(|(head, sources)| {
            let pick = |f: fn(&Source) -> Option<&String>| {
                string_list_value(
                    sources
                        .iter()
                        .filter_map(|s| f(s).cloned())
                        .collect::<Vec<_>>(),
                )
            };
            Value::object([
                (
                    "cidr_blocks",
                    pick(|s| {
                        if let Source::Cidr(c) = s {
                            Some(c)
                        } else {
                            None
                        }
                    }),
                ),
                ("description", Value::string(&head.description)),
                ("from_port", Value::Number(head.from_port as f64)),
                (
                    "ipv6_cidr_blocks",
                    pick(|s| {
                        if let Source::Ipv6(c) = s {
                            Some(c)
                        } else {
                            None
                        }
                    }),
                ),
                (
                    "prefix_list_ids",
                    pick(|s| {
                        if let Source::PrefixList(c) = s {
                            Some(c)
                        } else {
                            None
                        }
                    }),
                ),
                ("protocol", Value::string(&head.protocol)),
                (
                    "security_groups",
                    string_set(sources.iter().filter_map(|s| {
                        if let Source::Group(g) = s {
                            Some(g.clone())
                        } else {
                            None
                        }
                    })),
                ),
                (
                    "self",
                    Value::Bool(sources.iter().any(|s| matches!(s, Source::OwnGroup))),
                ),
                ("to_port", Value::Number(head.to_port as f64)),
            ])
        })
        .collect();
    Value::List(items)
}

fn same_group(a: &AtomicRule, b: &AtomicRule) -> bool {
    a.protocol == b.protocol
        && a.from_port == b.from_port
        && a.to_port == b.to_port
        && a.description == b.description
}

/// One AWS permission per atomic rule (what authorize and revoke take).
pub fn to_permissions<'a>(
    rules: impl IntoIterator<Item = &'a AtomicRule>,
    own_group_id: &str,
) -> Vec<IpPermission> {
    rules
        .into_iter()
        .map(|rule| {
            let description = Some(rule.description.clone()).filter(|d| !d.is_empty());
            let mut perm = IpPermission::builder().ip_protocol(&rule.protocol);
            if rule.protocol != "-1" {
                // EC2 takes ports as 32-bit numbers; configured ports were whole numbers.
                perm = perm
                    .from_port(rule.from_port as i32)
                    .to_port(rule.to_port as i32);
            }
            perm = match &rule.source {
                Source::Cidr(c) => perm.ip_ranges(
                    IpRange::builder()
                        .cidr_ip(c)
                        .set_description(description)
                        .build(),
                ),
                Source::Ipv6(c) => perm.ipv6_ranges(
                    Ipv6Range::builder()
                        .cidr_ipv6(c)
                        .set_description(description)
                        .build(),
                ),
                Source::PrefixList(p) => perm.prefix_list_ids(
                    PrefixListId::builder()
                        .prefix_list_id(p)
                        .set_description(description)
                        .build(),
                ),
                Source::Group(g) => perm.user_id_group_pairs(
                    UserIdGroupPair::builder()
                        .group_id(g)
                        .set_description(description)
                        .build(),
                ),
                Source::OwnGroup => perm.user_id_group_pairs(
                    UserIdGroupPair::builder()
                        .group_id(own_group_id)
                        .set_description(description)
                        .build(),
                ),
            };
            perm.build()
        })
        .collect()
}

/// The allow-all egress rule AWS adds to every new VPC security group.
pub fn default_egress() -> AtomicRule {
    AtomicRule {
        protocol: "-1".into(),
        from_port: 0,
        to_port: 0,
        source: Source::Cidr("0.0.0.0/0".into()),
        description: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        protocol: &str,
        from: f64,
        to: f64,
        cidrs: &[&str],
        description: Option<&str>,
    ) -> Value {
        Value::object([
            ("protocol", Value::string(protocol)),
            ("from_port", Value::Number(from)),
            ("to_port", Value::Number(to)),
            (
                "cidr_blocks",
                Value::List(cidrs.iter().map(|c| Value::string(*c)).collect()),
            ),
            ("ipv6_cidr_blocks", Value::Null),
            ("prefix_list_ids", Value::Null),
            ("security_groups", Value::Null),
            ("self", Value::Null),
            (
                "description",
                description.map(Value::string).unwrap_or(Value::Null),
            ),
        ])
    }

    #[test]
    fn same_rules_in_other_order_and_grouping_compare_equal() {
        let a = vec![
            rule("tcp", 443.0, 443.0, &["10.0.0.0/8", "192.168.0.0/16"], None),
            rule("tcp", 22.0, 22.0, &["10.0.0.0/8"], Some("ssh")),
        ];
        let b = vec![
            rule("6", 22.0, 22.0, &["10.0.0.0/8"], Some("ssh")),
            rule("TCP", 443.0, 443.0, &["192.168.0.0/16"], Some("")),
            rule("tcp", 443.0, 443.0, &["10.0.0.0/8"], None),
        ];
        assert_eq!(
            atomize(&a, "ingress").unwrap(),
            atomize(&b, "ingress").unwrap()
        );
    }

    #[test]
    fn a_changed_description_is_a_difference() {
        let a = vec![rule("tcp", 22.0, 22.0, &["10.0.0.0/8"], Some("ssh"))];
        let b = vec![rule("tcp", 22.0, 22.0, &["10.0.0.0/8"], Some("admin ssh"))];
        assert_ne!(
            atomize(&a, "ingress").unwrap(),
            atomize(&b, "ingress").unwrap()
        );
    }

    #[test]
    fn all_traffic_ignores_ports_and_spelling() {
        let a = vec![rule("all", 0.0, 65535.0, &["0.0.0.0/0"], None)];
        let atoms = atomize(&a, "egress").unwrap();
        assert_eq!(
            atoms.into_iter().collect::<Vec<_>>(),
            vec![default_egress()]
        );
    }

    #[test]
    fn aws_permissions_with_self_reference_round_trip() {
        let perms = vec![
            IpPermission::builder()
                .ip_protocol("6")
                .from_port(80)
                .to_port(80)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-own").build())
                .user_id_group_pairs(
                    UserIdGroupPair::builder()
                        .group_id("sg-other")
                        .description("lb")
                        .build(),
                )
                .build(),
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        ];
        let atoms = atomize_aws(&perms, "sg-own");
        assert_eq!(atoms.len(), 4);
        assert!(
            atoms
                .iter()
                .any(|r| r.source == Source::OwnGroup && r.protocol == "tcp")
        );
        let grouped = rules_value(&atoms);
        let back = atomize(grouped.as_seq().unwrap(), "ingress").unwrap();
        assert_eq!(back, atoms);
        let again = atomize_aws(&to_permissions(&atoms, "sg-own"), "sg-own");
        assert_eq!(again, atoms);
    }

    #[test]
    fn a_rule_without_source_is_an_error_naming_the_rule() {
        let err = atomize(&[rule("tcp", 22.0, 22.0, &[], None)], "ingress").unwrap_err();
        assert!(err.message.contains("ingress rule #1"), "{}", err.message);
        assert!(err.hint.unwrap_or_default().contains("cidr_blocks"));
    }

    #[test]
    fn normalized_rule_fills_terraform_defaults() {
        let n = normalize_rule(&rule("6", 22.0, 22.0, &["10.0.0.0/8"], None));
        assert_eq!(n.str_attr("protocol"), Some("tcp"));
        assert_eq!(n.str_attr("description"), Some(""));
        assert_eq!(n.get("self"), Some(&Value::Bool(false)));
        assert_eq!(n.get("ipv6_cidr_blocks"), Some(&Value::List(vec![])));
        assert_eq!(n.get("security_groups"), Some(&Value::Set(vec![])));
    }
}
