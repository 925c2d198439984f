//! HCL's JSON syntax (`*.tf.json`): a front-end that reads a JSON file into the same
//! [`Body`] the native syntax gives, so everything downstream (the configuration model,
//! references, evaluation) is shared.
//!
//! JSON cannot say by itself whether a property is an argument or a nested block, nor
//! whether a string is a template, a literal or a reference: that depends on where it
//! stands. The caller says so with a [`BodySpec`] per block type (Terraform's rules:
//! <https://developer.hashicorp.com/terraform/language/syntax/json>). The front-end then
//! writes the equivalent native HCL and parses it, keeping a map from every byte of that
//! text back to the JSON, so diagnostics name `file:line:col` in the `.json` file and show
//! its line.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::Diagnostics;
use crate::syntax::{Body, SourceFile};

/// How a property's value is read when it is an argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueMode {
    /// Terraform's expression mapping: strings are templates (`"${var.x}"`), numbers,
    /// bools and null literal, arrays tuples, objects objects (keys are templates too).
    #[default]
    Expression,
    /// Taken literally: strings are not templates (`variable` defaults, descriptions,
    /// `module` source, `terraform` settings).
    Literal,
    /// A string (or an array of strings) holding a reference, a keyword or a type written
    /// as in native syntax without quotes: `"aws.west"`, `["aws_s3_bucket.b"]`, `"all"`,
    /// `"list(string)"`.
    Reference,
    /// `module`'s `providers`: an object of provider addresses, `{"aws": "aws.west"}`.
    ProviderMap,
}

/// How the properties of one block body are read.
#[derive(Clone, Default)]
pub struct BodySpec {
    /// Nested block types by name; every other property is an argument.
    pub blocks: BTreeMap<String, BlockSpec>,
    /// How arguments are read, by name; the rest by `default_mode`.
    pub modes: BTreeMap<String, ValueMode>,
    pub default_mode: ValueMode,
    /// Only blocks belong here (the top level of a file): a property that is not a known
    /// block type is passed on as an empty block of that name, for the caller to report
    /// as an unknown block type.
    pub only_blocks: bool,
}

impl BodySpec {
    pub fn block(
        mut self,
        name: &str,
        labels: usize,
        body: impl Fn(&[String]) -> BodySpec + Send + Sync + 'static,
    ) -> Self {
        self.blocks.insert(
            name.to_string(),
            BlockSpec {
                labels,
                body: Arc::new(body),
            },
        );
        self
    }
    pub fn mode(mut self, name: &str, mode: ValueMode) -> Self {
        self.modes.insert(name.to_string(), mode);
        self
    }
    pub fn default_mode(mut self, mode: ValueMode) -> Self {
        self.default_mode = mode;
        self
    }
}

/// The spec of a block's body given its labels.
pub type BodyOfLabels = Arc<dyn Fn(&[String]) -> BodySpec + Send + Sync>;

/// A nested block type: how many labels it takes, and the spec of its body given them
/// (a resource's body depends on its type label).
#[derive(Clone)]
pub struct BlockSpec {
    pub labels: usize,
    pub body: BodyOfLabels,
}

/// A parsed JSON file, ready to be read as a body.
pub struct JsonFile {
    pub(crate) source: Arc<SourceFile>,
    pub(crate) root: crate::json_impl::Node,
}

impl JsonFile {
    /// The file as a body read with `spec`. Wrong shapes (an argument given where a block
    /// belongs, a reference that is not a string, a bad template) come back as diagnostics
    /// located in the JSON.
    pub fn body(&self, spec: &BodySpec) -> Result<Body, Diagnostics> {
        crate::json_impl::translate(self, spec)
    }

    pub fn source(&self) -> &Arc<SourceFile> {
        &self.source
    }
}

/// Reads and parses a JSON file.
pub fn parse_json_file(path: &Path) -> Result<JsonFile, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics::from(crate::Diagnostic::error(format!(
            "cannot read {}: {e}",
            path.display()
        )))
    })?;
    parse_json_str(path, text)
}

/// Parses text as a JSON file named `path` (the name is used in diagnostics only).
pub fn parse_json_str(path: &Path, text: String) -> Result<JsonFile, Diagnostics> {
    let source = SourceFile::new(path, text);
    let root = crate::json_impl::parse(&source)?;
    Ok(JsonFile { source, root })
}
