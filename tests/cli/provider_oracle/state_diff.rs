//! The state-diff tool: the states Terraform (with the real provider) and forge wrote for
//! the same configuration, compared resource instance by resource instance and attribute
//! by attribute. Every difference is listed; the suite fails on any not in [`KNOWN`], and
//! [`KNOWN`] must be exactly README's "Provider state" list under "Known
//! incompatibilities" (checked by `known_list_matches_the_readme`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value as J;

/// One known, accepted difference: a resource type (`*`: every type) and the attribute path (as
/// [`Difference::path`] spells it; `*` for a list index), with the reason README gives.
pub struct Known {
    pub type_name: &'static str,
    pub path: &'static str,
    pub reason: &'static str,
}

/// The differences forge is known to have with the provider's state. Keep in step with
/// README.md, "Known incompatibilities with Terraform", **Provider state**.
pub const KNOWN: &[Known] = &[
    Known {
        type_name: "*",
        path: "private",
        reason: "the provider's opaque record of timeouts and schema version; Terraform reads a state without it",
    },
    Known {
        type_name: "aws_secretsmanager_secret_version",
        path: "sensitive_attributes",
        reason: "the same three paths, in an order Terraform changes from run to run",
    },
    Known {
        type_name: "aws_instance",
        path: "ebs_block_device.*.tags",
        reason: "with default_tags, the provider's own create records the default tags a volume got as the volume's own, and its later reads keep them; forge records the tags that are not default tags, as the provider's read code does; neither tool plans a change over the other's",
    },
];

/// One difference between the two states.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// The instance address (`aws_sqs_queue.q`, `module.m.aws_iam_role.r["k"]`).
    pub address: String,
    /// The resource type, to match [`KNOWN`].
    pub type_name: String,
    /// `schema_version`, `private`, `sensitive_attributes`, or an attribute path such as
    /// `tags.env` or `inline_policy.0.name`; empty when the instance is in one state only.
    pub path: String,
    /// Terraform's value (`None`: absent).
    pub terraform: Option<J>,
    /// forge's value (`None`: absent).
    pub forge: Option<J>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<J>| v.as_ref().map_or("(absent)".to_string(), J::to_string);
        write!(
            f,
            "{} {}: terraform {} / forge {}",
            self.address,
            if self.path.is_empty() {
                "(instance)"
            } else {
                &self.path
            },
            show(&self.terraform),
            show(&self.forge)
        )
    }
}

/// What to mask before comparing two states of different objects made from the same
/// configuration (each tool applied its own copy): each side's fixture name becomes
/// `@NAME@`, and values every create generates afresh (ids, timestamps) become
/// placeholders. Comparing two states of the same objects needs no mask.
#[derive(Clone, Debug, Default)]
pub struct Masks {
    /// The fixture name in Terraform's state, and in forge's.
    pub names: Option<(String, String)>,
    /// Mask uuids, RFC 3339 timestamps, IAM unique ids and Secrets Manager ARN suffixes.
    pub generated: bool,
}

impl Masks {
    /// No masking: both states describe the same objects.
    pub fn none() -> Masks {
        Masks::default()
    }

    /// Two applies of one configuration, under two fixture names.
    pub fn separate_objects(terraform_name: &str, forge_name: &str) -> Masks {
        Masks {
            names: Some((terraform_name.to_string(), forge_name.to_string())),
            generated: true,
        }
    }
}

/// Every difference between Terraform's state and forge's, in address then path order.
pub fn state_diff(terraform: &J, forge: &J, masks: &Masks) -> Vec<Difference> {
    let (tf_name, forge_name) = match &masks.names {
        Some((t, f)) => (Some(t.as_str()), Some(f.as_str())),
        None => (None, None),
    };
    let tf = instances(terraform, tf_name, masks.generated);
    let fg = instances(forge, forge_name, masks.generated);
    let mut out = Vec::new();
    let addresses: BTreeSet<&String> = tf.keys().chain(fg.keys()).collect();
    for address in addresses {
        match (tf.get(address), fg.get(address)) {
            (Some(t), Some(f)) => {
                let type_name = t.type_name.clone();
                let mut push = |path: String, a: Option<&J>, b: Option<&J>| {
                    out.push(Difference {
                        address: address.clone(),
                        type_name: type_name.clone(),
                        path,
                        terraform: a.cloned(),
                        forge: b.cloned(),
                    })
                };
                for key in ["schema_version", "private"] {
                    let (a, b) = (t.raw.get(key), f.raw.get(key));
                    if a != b {
                        push(key.to_string(), a, b);
                    }
                }
                let (a, b) = (
                    sorted_paths(t.raw.get("sensitive_attributes")),
                    sorted_paths(f.raw.get("sensitive_attributes")),
                );
                if a != b {
                    push("sensitive_attributes".into(), Some(&a), Some(&b));
                }
                let schema = forge_schema_of(t.data, &t.type_name);
                let shape = schema.map_or(Shape::Unknown, Shape::Block);
                diff_values(
                    "",
                    t.raw.get("attributes"),
                    f.raw.get("attributes"),
                    shape,
                    &mut push,
                );
            }
            (t, f) => out.push(Difference {
                address: address.clone(),
                type_name: t.or(f).map(|i| i.type_name.clone()).unwrap_or_default(),
                path: String::new(),
                terraform: t.map(|i| i.raw.clone()),
                forge: f.map(|i| i.raw.clone()),
            }),
        }
    }
    out
}

/// The differences not listed in [`KNOWN`].
pub fn unlisted(diffs: &[Difference]) -> Vec<&Difference> {
    diffs.iter().filter(|d| !is_known(d)).collect()
}

/// Fails the test, listing each difference [`KNOWN`] does not name.
pub fn assert_states_match(terraform: &J, forge: &J, masks: &Masks) {
    let diffs = state_diff(terraform, forge, masks);
    let bad = unlisted(&diffs);
    assert!(
        bad.is_empty(),
        "forge's state differs from the provider's in {} place(s) not listed in README \"Known incompatibilities\" (state_diff::KNOWN):\n{}",
        bad.len(),
        bad.iter()
            .map(|d| format!("  {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Attributes the cloud changes between any two reads, whichever tool reads: never a
/// difference between the tools, so not compared. `available_ip_address_count` of a
/// subnet drops with every launch in it, and the fixtures share the default subnet.
const VOLATILE: &[(&str, &str)] = &[("aws_subnet", "available_ip_address_count")];

fn is_known(d: &Difference) -> bool {
    let star = index_as_star(&d.path);
    if VOLATILE
        .iter()
        .any(|(t, p)| *t == d.type_name && *p == d.path)
    {
        return true;
    }
    // A listed path covers everything under it (a map's keys, a nested block's fields).
    let under = |listed: &str, path: &str| {
        path == listed
            || path
                .strip_prefix(listed)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    KNOWN.iter().any(|k| {
        (k.type_name == "*" || k.type_name == d.type_name)
            && (under(k.path, &d.path) || under(k.path, &star))
    })
}

/// `inline_policy.0.name` -> `inline_policy.*.name`.
fn index_as_star(path: &str) -> String {
    path.split('.')
        .map(|s| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                "*"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

struct Instance {
    type_name: String,
    /// A data source's instance (`mode = "data"`), whose schema is the data source's.
    data: bool,
    raw: J,
}

fn instances(state: &J, name: Option<&str>, generated: bool) -> BTreeMap<String, Instance> {
    let mut out = BTreeMap::new();
    for r in state["resources"].as_array().into_iter().flatten() {
        let type_name = r["type"].as_str().unwrap_or_default().to_string();
        let mut base = String::new();
        if let Some(m) = r["module"].as_str() {
            base.push_str(m);
            base.push('.');
        }
        if r["mode"] == "data" {
            base.push_str("data.");
        }
        base.push_str(&format!(
            "{type_name}.{}",
            r["name"].as_str().unwrap_or_default()
        ));
        for i in r["instances"].as_array().into_iter().flatten() {
            let address = match &i["index_key"] {
                J::Null => base.clone(),
                J::String(k) => format!("{base}[{k:?}]"),
                k => format!("{base}[{k}]"),
            };
            let mut raw = i.clone();
            if let Some(o) = raw.as_object_mut() {
                // Where the instance came from, not what it is.
                o.remove("index_key");
                o.remove("dependencies");
                o.remove("create_before_destroy");
            }
            out.insert(
                address,
                Instance {
                    type_name: type_name.clone(),
                    data: r["mode"] == "data",
                    raw: mask(&raw, name, generated),
                },
            );
        }
    }
    out
}

fn sorted_paths(v: Option<&J>) -> J {
    let mut paths: Vec<J> = v.and_then(J::as_array).cloned().unwrap_or_default();
    paths.sort_by_key(J::to_string);
    J::Array(paths)
}

/// forge's schema of a type (which attributes are sets); `None` for a type forge lacks, whose
/// lists are then compared by position. forge's schemas are checked against the provider's
/// by `assert_schemas_match`, so the set-ness read here is the provider's.
fn forge_schema_of(data: bool, type_name: &str) -> Option<&'static forge_provider::Schema> {
    use forge_provider::ProviderFactory;
    static SCHEMAS: std::sync::OnceLock<forge_provider::ProviderSchemas> =
        std::sync::OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| forge_aws::AwsProviderFactory::default().schemas());
    if data {
        schemas.data_sources.get(type_name)
    } else {
        schemas.resources.get(type_name)
    }
}

/// Where a value sits in its type's schema, as far as comparing needs it: whether a list in
/// state is a set (its order is whatever each tool read from AWS) or a list.
#[derive(Clone, Copy)]
enum Shape<'a> {
    /// An object with the schema's attributes and blocks.
    Block(&'a forge_provider::Schema),
    /// The occurrences of a nested block.
    Blocks(&'a forge_provider::BlockType),
    Attr(&'a forge_provider::AttrType),
    /// Not in forge's schema: compared by position.
    Unknown,
}

impl<'a> Shape<'a> {
    /// The shape of an object's member `key`, or of a map's value.
    fn member(self, key: &str) -> Shape<'a> {
        use forge_provider::AttrType;
        match self {
            Shape::Block(s) => match (s.attributes.get(key), s.blocks.get(key)) {
                (Some(a), _) => Shape::Attr(&a.ty),
                (None, Some(b)) => Shape::Blocks(b),
                (None, None) => Shape::Unknown,
            },
            Shape::Attr(AttrType::Map(t)) => Shape::Attr(t),
            _ => Shape::Unknown,
        }
    }

    /// The shape of a list's or set's elements.
    fn element(self) -> Shape<'a> {
        use forge_provider::AttrType;
        match self {
            Shape::Blocks(b) => Shape::Block(&b.schema),
            Shape::Attr(AttrType::List(t) | AttrType::Set(t)) => Shape::Attr(t),
            _ => Shape::Unknown,
        }
    }

    fn is_set(self) -> bool {
        match self {
            Shape::Blocks(b) => b.unordered,
            Shape::Attr(t) => matches!(t, forge_provider::AttrType::Set(_)),
            _ => false,
        }
    }
}

/// Walks both values, reporting each leaf (or shape) difference with its path. Sets compare
/// by elements: equal elements pair up whatever their positions, and what is left is compared
/// pairwise (under Terraform's index) or, when the counts differ, reported as one difference.
fn diff_values(
    path: &str,
    a: Option<&J>,
    b: Option<&J>,
    shape: Shape<'_>,
    push: &mut impl FnMut(String, Option<&J>, Option<&J>),
) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Some(J::Object(x)), Some(J::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff_values(&join(k), x.get(k), y.get(k), shape.member(k), push);
            }
        }
        (Some(J::Array(x)), Some(J::Array(y))) if shape.is_set() => {
            let mut paired = vec![false; y.len()];
            let mut left: Vec<(usize, &J)> = Vec::new();
            for (i, p) in x.iter().enumerate() {
                match (0..y.len()).find(|&j| !paired[j] && &y[j] == p) {
                    Some(j) => paired[j] = true,
                    None => left.push((i, p)),
                }
            }
            let right: Vec<&J> = y
                .iter()
                .zip(&paired)
                .filter(|(_, p)| !**p)
                .map(|(q, _)| q)
                .collect();
            if left.len() == right.len() {
                for ((i, p), q) in left.into_iter().zip(right) {
                    diff_values(
                        &join(&i.to_string()),
                        Some(p),
                        Some(q),
                        shape.element(),
                        push,
                    );
                }
            } else {
                push(path.to_string(), a, b);
            }
        }
        (Some(J::Array(x)), Some(J::Array(y))) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff_values(
                    &join(&i.to_string()),
                    Some(p),
                    Some(q),
                    shape.element(),
                    push,
                );
            }
        }
        (a, b) if a != b => push(path.to_string(), a, b),
        _ => {}
    }
}

/// Attributes that hold an id the service generates (IAM's unique ids).
const GENERATED_ID_ATTRIBUTES: &[&str] = &["unique_id", "policy_id", "role_id"];

/// Attributes holding a value EC2 makes up per object in a form of the emulator's own
/// (LocalStack's MAC addresses are `02:00:00:14002x:7502x:2002x`), with their mask.
const GENERATED_VALUE_ATTRIBUTES: &[(&str, &str)] = &[("mac_address", "<MAC>")];

fn generated_value_mask(attribute: &str) -> Option<&'static str> {
    GENERATED_VALUE_ATTRIBUTES
        .iter()
        .find(|(a, _)| *a == attribute)
        .map(|(_, with)| *with)
}

/// Attributes whose value is the moment's, not the object's: two reads of the same subnet a
/// minute apart differ in free addresses when other fixtures start instances meanwhile.
const MOMENTARY_ATTRIBUTES: &[&str] = &["available_ip_address_count"];

/// The value with the fixture's name and (when asked) generated values replaced.
fn mask(v: &J, name: Option<&str>, generated: bool) -> J {
    match v {
        J::String(s) => J::String(mask_text(s, name, generated)),
        J::Array(xs) => J::Array(xs.iter().map(|x| mask(x, name, generated)).collect()),
        J::Object(m) => J::Object(
            m.iter()
                .map(|(k, x)| {
                    let masked = match x {
                        // Ids the service makes up, in whatever alphabet the emulator uses.
                        J::String(_)
                            if generated && GENERATED_ID_ATTRIBUTES.contains(&k.as_str()) =>
                        {
                            J::String("<UNIQUE_ID>".into())
                        }
                        J::String(_) if generated && generated_value_mask(k).is_some() => {
                            J::String(generated_value_mask(k).unwrap_or_default().into())
                        }
                        _ if generated && MOMENTARY_ATTRIBUTES.contains(&k.as_str()) => {
                            J::String("<MOMENTARY>".into())
                        }
                        _ => mask(x, name, generated),
                    };
                    (mask_text(k, name, generated), masked)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn mask_text(s: &str, name: Option<&str>, generated: bool) -> String {
    let mut s = match name {
        Some(n) => s.replace(n, "@NAME@"),
        None => s.to_string(),
    };
    if generated {
        for (pattern, with) in generated_patterns() {
            s = pattern.replace_all(&s, *with).into_owned();
        }
    }
    s
}

fn generated_patterns() -> &'static [(regex::Regex, &'static str)] {
    static PATTERNS: std::sync::OnceLock<Vec<(regex::Regex, &'static str)>> =
        std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            (
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                "<UUID>",
            ),
            (
                r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
                "<TIME>",
            ),
            // IAM unique ids: AROA (role), ANPA (policy), AIPA (instance profile), ...
            (r"\bA[A-Z]{3}[A-Z0-9]{17}\b", "<UNIQUE_ID>"),
            // Secrets Manager appends six random characters to a secret's ARN.
            (r"(:secret:[^:]+)-[A-Za-z0-9]{6}\b", "$1-<RND>"),
            // A name generated from a prefix: UTC time to 1/10000 s and a hex counter.
            (r"\d{18}[0-9a-f]{8}\b", "<GENERATED>"),
            // EC2 object ids, addresses and the DNS names made from them.
            (
                r"\b(eipalloc|eipassoc|eni-attach|sg|i|eni|vol|key|snap|subnet|vpc|rtb|ami|acl|igw|rtbassoc|dopt)-[0-9a-f]{8,17}\b",
                "$1-<ID>",
            ),
            // Security group rule ids (aws_vpc_security_group_ingress_rule / _egress_rule).
            (r"\bsgr-[0-9a-f]{8,17}\b", "sgr-<ID>"),
            // ec2lt (#19): volume attachment ids (a decimal CRC of the names) and
            // launch template ids.
            (r"\bvai-\d+\b", "vai-<ID>"),
            (r"\blt-[0-9a-f]{8,17}\b", "lt-<ID>"),
            (r"\b\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}\b", "<IP>"),
            (r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", "<IP>"),
        ]
        .into_iter()
        .map(|(p, w)| (regex::Regex::new(p).expect("regex"), w))
        .collect()
    })
}

/// The README entries under "Known incompatibilities with Terraform", **Provider state**:
/// lines `` - `<type>` `<path>`: <reason> ``.
fn readme_entries() -> BTreeSet<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("## Known incompatibilities with Terraform")
        .nth(1)
        .expect("README has a \"Known incompatibilities with Terraform\" section");
    let list = section
        .split("**Provider state**")
        .nth(1)
        .expect("README's known incompatibilities have a **Provider state** list");
    let entry = regex::Regex::new(r"^- `([a-z0-9_]+|\*)` `([^`]+)`: \S").expect("regex");
    list.lines()
        .skip(1)
        .take_while(|l| !l.starts_with("**") && !l.starts_with("## "))
        .filter_map(|l| entry.captures(l))
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect()
}

#[test]
fn known_list_matches_the_readme() {
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|k| (k.type_name.to_string(), k.path.to_string()))
        .collect();
    for k in KNOWN {
        assert!(
            !k.reason.trim().is_empty(),
            "{} {} has no reason",
            k.type_name,
            k.path
        );
    }
    assert_eq!(
        known,
        readme_entries(),
        "state_diff::KNOWN and README's **Provider state** list must name the same differences"
    );
}

#[test]
fn differences_are_listed_by_path_and_masks_apply() {
    let state = |name: &str, delay: i64, extra: Option<(&str, J)>| {
        let mut attrs = serde_json::json!({
            "name": format!("{name}-q"),
            "delay_seconds": delay,
            "arn": format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbC123"),
            "created": "2026-12-06T21:00:00Z",
            "tags": {"env": "x"},
            "inline_policy": [{"name": "a"}]
        });
        if let Some((k, v)) = extra {
            attrs[k] = v;
        }
        serde_json::json!({"version": 4, "resources": [{
            "mode": "managed", "type": "aws_sqs_queue", "name": "q",
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": attrs, "sensitive_attributes": []}]
        }]})
    };
    let masks = Masks::separate_objects("tf1", "fg2");
    assert!(state_diff(&state("tf1", 0, None), &state("fg2", 0, None), &masks).is_empty());
    // Without masks the names differ.
    assert!(
        !state_diff(
            &state("tf1", 0, None),
            &state("fg2", 0, None),
            &Masks::none()
        )
        .is_empty()
    );
    let diffs = state_diff(
        &state("tf1", 0, Some(("name_prefix", J::String(String::new())))),
        &state("fg2", 5, Some(("name_prefix", J::Null))),
        &masks,
    );
    let paths: Vec<&str> = diffs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["delay_seconds", "name_prefix"], "{diffs:?}");
    assert_eq!(diffs[1].terraform, Some(J::String(String::new())));
    assert_eq!(diffs[1].forge, Some(J::Null));
    assert_eq!(diffs[0].address, "aws_sqs_queue.q");
    assert_eq!(
        index_as_star("inline_policy.0.name"),
        "inline_policy.*.name"
    );
    // An instance in one state only is one difference with an empty path.
    let empty = serde_json::json!({"version": 4, "resources": []});
    let one_side = state_diff(&state("tf1", 0, None), &empty, &masks);
    assert_eq!(one_side.len(), 1);
    assert_eq!(one_side[0].path, "");
    assert!(one_side[0].forge.is_none());
}

#[test]
fn a_listed_path_covers_what_is_under_it_and_nothing_beside_it() {
    let difference = |path: &str| Difference {
        address: "aws_instance.i".into(),
        type_name: "aws_instance".into(),
        path: path.into(),
        terraform: Some(J::String("default".into())),
        forge: None,
    };
    assert!(is_known(&difference("ebs_block_device.0.tags.env")));
    assert!(is_known(&difference("ebs_block_device.1.tags")));
    assert!(!is_known(&difference("ebs_block_device.0.tags_all.env")));
    assert!(!is_known(&difference("root_block_device.0.tags.env")));
}

#[test]
fn sets_compare_by_elements_and_lists_by_position() {
    let group = |ingress: J, policies: J| {
        serde_json::json!({"version": 4, "resources": [
            {"mode": "managed", "type": "aws_security_group", "name": "g",
             "instances": [{"schema_version": 1, "attributes": {"ingress": ingress}}]},
            {"mode": "managed", "type": "aws_iam_role", "name": "r",
             "instances": [{"schema_version": 0, "attributes": {"managed_policy_arns": policies}}]}
        ]})
    };
    let rule =
        |port: i64| serde_json::json!({"from_port": port, "to_port": port, "protocol": "tcp"});
    let arns = |a: &[&str]| J::from(a.iter().map(|s| J::from(*s)).collect::<Vec<_>>());
    let a = group(J::from(vec![rule(80), rule(443)]), arns(&["p1", "p2"]));
    // The same rules and policies in another order: no difference (both are sets).
    let b = group(J::from(vec![rule(443), rule(80)]), arns(&["p2", "p1"]));
    assert_eq!(state_diff(&a, &b, &Masks::none()), Vec::<Difference>::new());
    // One rule changed: one difference, under the changed rule's index in Terraform's state.
    let c = group(J::from(vec![rule(443), rule(8080)]), arns(&["p1", "p2"]));
    let diffs = state_diff(&a, &c, &Masks::none());
    let paths: Vec<&str> = diffs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        ["ingress.0.from_port", "ingress.0.to_port"],
        "{diffs:?}"
    );
    // A rule more on one side: the whole set differs.
    let d = group(
        J::from(vec![rule(80), rule(443), rule(22)]),
        arns(&["p1", "p2"]),
    );
    let diffs = state_diff(&a, &d, &Masks::none());
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0].path, "ingress");
    // A type forge does not have keeps comparing lists by position.
    let unknown = |xs: J| {
        serde_json::json!({"version": 4, "resources": [{"mode": "managed", "type": "aws_not_a_type",
            "name": "n", "instances": [{"schema_version": 0, "attributes": {"xs": xs}}]}]})
    };
    let diffs = state_diff(
        &unknown(arns(&["a", "b"])),
        &unknown(arns(&["b", "a"])),
        &Masks::none(),
    );
    assert_eq!(diffs.len(), 2, "{diffs:?}");
}

/// An interface's MAC address is made per create, in the emulator's own form.
#[test]
fn mac_addresses_are_masked() {
    let state = |mac: &str| {
        serde_json::json!({"version": 4, "resources": [{
            "mode": "managed", "type": "aws_network_interface", "name": "n",
            "instances": [{"schema_version": 0, "attributes": {"mac_address": mac, "description": "x"}}]
        }]})
    };
    let (a, b) = (
        state("02:00:00:14002x:7502x:2002x"),
        state("0a:1b:2c:3d:4e:5f"),
    );
    assert!(state_diff(&a, &b, &Masks::separate_objects("tf1", "fg2")).is_empty());
    // Two states of the same objects compare MAC addresses as they are.
    assert_eq!(state_diff(&a, &b, &Masks::none()).len(), 1);
}

/// ec2eip (#19): Elastic IP allocation and association ids and interface attachment ids
/// are generated per apply, as other EC2 ids.
#[test]
fn address_and_attachment_ids_are_masked() {
    for (id, masked) in [
        ("eipalloc-df300b72d63475549", "eipalloc-<ID>"),
        ("eipassoc-3b8a11b66a2887a07", "eipassoc-<ID>"),
        ("eni-attach-c81a27a06c7100cdf", "eni-attach-<ID>"),
        ("eni-65da6a733f4e175d3", "eni-<ID>"),
    ] {
        assert_eq!(mask_text(id, None, true), masked);
    }
    assert_eq!(
        mask_text(
            "arn:aws:ec2:us-east-1:0:elastic-ip/eipalloc-df300b72d63475549",
            None,
            true
        ),
        "arn:aws:ec2:us-east-1:0:elastic-ip/eipalloc-<ID>"
    );
}
