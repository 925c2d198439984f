//! Resource schemas: which attributes a resource type takes and exports, and how each
//! behaves when planned. The engine uses them to fill computed attributes with unknowns,
//! to decide replacement, to turn nested blocks into values and to hide sensitive values.

use std::collections::BTreeMap;

/// The type of an attribute, as far as the engine needs to know it for conversion.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrType {
    String,
    Number,
    Bool,
    List(Box<AttrType>),
    Set(Box<AttrType>),
    Map(Box<AttrType>),
    /// Anything: Terraform's dynamic type (JSON documents are strings, so this is rare). The
    /// engine writes such an attribute to state with its type, as Terraform does.
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub ty: AttrType,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// Set by the provider when not configured (exported attributes, AWS defaults).
    pub computed: bool,
    /// A change to it cannot be made in place: the object is replaced.
    pub force_new: bool,
    /// Never shown in plans or logs.
    pub sensitive: bool,
    /// The value planned when configuration leaves the attribute out (the provider's
    /// schema default: SQS's `visibility_timeout_seconds = 30`), so that removing an
    /// argument plans a return to the default, as Terraform does.
    pub default: Option<crate::value::Value>,
}

impl Attribute {
    fn new(ty: AttrType) -> Self {
        Attribute {
            ty,
            required: false,
            optional: false,
            computed: false,
            force_new: false,
            sensitive: false,
            default: None,
        }
    }
    /// Set by the user, must be present.
    pub fn required(ty: AttrType) -> Self {
        Attribute {
            required: true,
            ..Self::new(ty)
        }
    }
    /// Set by the user or left null.
    pub fn optional(ty: AttrType) -> Self {
        Attribute {
            optional: true,
            ..Self::new(ty)
        }
    }
    /// Set by the user, or filled in by AWS when left out.
    pub fn optional_computed(ty: AttrType) -> Self {
        Attribute {
            optional: true,
            computed: true,
            ..Self::new(ty)
        }
    }
    /// Exported only.
    pub fn computed(ty: AttrType) -> Self {
        Attribute {
            computed: true,
            ..Self::new(ty)
        }
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Planned when configuration leaves the attribute out (see [`Attribute::default`]).
    pub fn default(mut self, value: crate::value::Value) -> Self {
        self.default = Some(value);
        self
    }
}

/// A nested block, such as `ingress { ... }` or `queue { ... }`. In values a block is
/// always a list of objects (one per occurrence), whatever `max_items` says.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BlockType {
    pub schema: Schema,
    pub min_items: usize,
    /// 0 means no limit.
    pub max_items: usize,
    /// Blocks whose order does not matter (security group rules) compare as sets.
    pub unordered: bool,
    pub force_new: bool,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Schema {
    pub attributes: BTreeMap<String, Attribute>,
    pub blocks: BTreeMap<String, BlockType>,
    /// The version of the state shape, written as each instance's `schema_version`: the
    /// provider's (hashicorp/aws) for the same type, so that a state forge writes is read
    /// by Terraform without an upgrade, and an older one is recognised as such.
    pub version: u64,
}

impl Schema {
    pub fn new() -> Self {
        Self::default()
    }

    /// The state shape's version (see [`Schema::version`]); 0 when not set.
    pub fn version(mut self, version: u64) -> Self {
        self.version = version;
        self
    }

    pub fn attr(mut self, name: &str, attribute: Attribute) -> Self {
        self.attributes.insert(name.to_string(), attribute);
        self
    }

    pub fn block(mut self, name: &str, block: BlockType) -> Self {
        self.blocks.insert(name.to_string(), block);
        self
    }

    /// Attribute names that are sensitive at the top level.
    pub fn sensitive_attributes(&self) -> impl Iterator<Item = &str> {
        self.attributes
            .iter()
            .filter(|(_, a)| a.sensitive)
            .map(|(n, _)| n.as_str())
    }
}
