//! Reading Terraform's configuration-driven refactoring blocks: `moved`, `removed` and
//! `import`. Their addresses name objects in state, so they are read from the source as
//! traversals (literal keys only), never evaluated.

use forge_lang::{
    Attribute, Block, Diagnostic, Diagnostics, Expr, Location, RefStep, TraversalStep,
};
use forge_provider::Value;

/// An address in a `moved`, `removed` or `import` block, in Terraform's spelling with
/// literal keys (`module.a[0].aws_sqs_queue.q["k"]`, `module.a`): it names objects, so it
/// is never evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockAddress {
    /// Canonical text: string keys written as JSON strings.
    pub text: String,
    pub location: Location,
}

impl BlockAddress {
    /// True when it ends with a resource (`type.name`, with or without a key) rather than a
    /// module call.
    pub fn is_resource(&self) -> bool {
        address_ends_with_resource(&self.text)
    }
}

/// `moved { from = aws_sqs_queue.a  to = aws_sqs_queue.b }`.
#[derive(Clone, Debug)]
pub struct Moved {
    pub from: BlockAddress,
    pub to: BlockAddress,
    pub location: Location,
}

/// `removed { from = aws_sqs_queue.a  lifecycle { destroy = false } }`.
#[derive(Clone, Debug)]
pub struct Removed {
    /// A resource or a module call, without instance keys.
    pub from: BlockAddress,
    /// `lifecycle { destroy = ... }`; true when absent, as Terraform.
    pub destroy: bool,
    pub location: Location,
}

/// `import { to = aws_sqs_queue.a  id = "..." }`; with `for_each` (Terraform 1.7), one
/// import per element.
#[derive(Clone, Debug)]
pub struct Import {
    /// A resource instance (keys allowed). With `for_each`, `to` as written.
    pub to: BlockAddress,
    /// Evaluated in the root module's scope; must be known when planning.
    pub id: Expr,
    pub for_each: Option<ImportForEach>,
    pub location: Location,
}

/// An import block's `for_each` and its `to`, whose instance keys are expressions of
/// `each.key` and `each.value` evaluated per element.
#[derive(Clone, Debug)]
pub struct ImportForEach {
    pub collection: Expr,
    /// `to`'s module calls, each with its key, from the root.
    pub modules: Vec<(String, Option<Expr>)>,
    /// `to`'s resource type, name and key.
    pub resource: (String, String, Option<Expr>),
}

/// One piece of an address: a name, or a literal instance key.
enum Piece {
    Name(String),
    Int(i64),
    Str(String),
}

/// How an address is used, for what it may contain.
#[derive(Clone, Copy, PartialEq)]
enum Use {
    /// `moved`: a resource, a resource instance, a module call or a module instance.
    Moved,
    /// `removed`: a resource or module call, no instance keys anywhere.
    Removed,
    /// `import`: a resource instance (keys allowed), possibly in a child module.
    Import,
}

fn key_text(p: &Piece) -> Option<String> {
    match p {
        Piece::Int(i) => Some(format!("[{i}]")),
        Piece::Str(s) => Some(format!("[{}]", serde_json::Value::String(s.clone()))),
        Piece::Name(_) => None,
    }
}

/// Reads `attr` as an address; the error says what shape is expected.
fn read_address(attr: &Attribute, block: &str, usage: Use) -> Result<BlockAddress, Diagnostics> {
    let example = match usage {
        Use::Moved => "aws_sqs_queue.jobs, aws_sqs_queue.jobs[\"eu\"] or module.queue",
        Use::Removed => "aws_sqs_queue.jobs or module.queue (without instance keys)",
        Use::Import => "aws_sqs_queue.jobs or aws_sqs_queue.jobs[\"eu\"]",
    };
    let bad = |why: String, at: Location| -> Diagnostics {
        Diagnostic::error(format!("`{}` in a {block} block {why}", attr.name))
            .at(at)
            .hint(format!(
                "write an address such as {example}, without quotes"
            ))
            .into()
    };
    let Some(r) = attr.expr.as_traversal() else {
        return Err(bad(
            "must be a resource or module address".into(),
            attr.expr.location(),
        ));
    };
    let mut pieces = vec![Piece::Name(r.root.clone())];
    for step in &r.steps {
        pieces.push(match step {
            RefStep::Attr(a) => Piece::Name(a.clone()),
            RefStep::Index(Some(Value::Number(n))) if n.fract() == 0.0 && *n >= 0.0 => {
                Piece::Int(*n as i64)
            }
            RefStep::Index(Some(Value::String(s))) => Piece::Str(s.clone()),
            RefStep::Index(_) => {
                return Err(bad(
                    "takes literal instance keys only (a whole number or a quoted string)".into(),
                    r.location.clone(),
                ));
            }
        });
    }
    let mut text = String::new();
    let mut i = 0;
    let mut has_key = false;
    let mut modules = 0;
    while matches!(pieces.get(i), Some(Piece::Name(n)) if n == "module") {
        let Some(Piece::Name(name)) = pieces.get(i + 1) else {
            return Err(bad(
                "names a module without its call name".into(),
                r.location.clone(),
            ));
        };
        text.push_str(&format!("module.{name}"));
        i += 2;
        if let Some(k) = pieces.get(i).and_then(key_text) {
            text.push_str(&k);
            has_key = true;
            i += 1;
        }
        modules += 1;
        if i < pieces.len() {
            text.push('.');
        }
    }
    let mut resource = false;
    if i < pieces.len() {
        let (Some(Piece::Name(t)), Some(Piece::Name(n))) = (pieces.get(i), pieces.get(i + 1))
        else {
            return Err(bad(
                "is not a resource address (type.name)".into(),
                r.location.clone(),
            ));
        };
        if t == "data" {
            return Err(Diagnostic::error(format!("a {block} block cannot name a data source"))
                .at(r.location.clone())
                .hint("data sources are read again every run; only managed resources and modules are refactored")
                .into());
        }
        text.push_str(&format!("{t}.{n}"));
        i += 2;
        if let Some(k) = pieces.get(i).and_then(key_text) {
            text.push_str(&k);
            has_key = true;
            i += 1;
        }
        resource = true;
    }
    if i < pieces.len() || (modules == 0 && !resource) {
        return Err(bad(
            "has extra parts after the address".into(),
            r.location.clone(),
        ));
    }
    match usage {
        Use::Removed if has_key => {
            return Err(Diagnostic::error(format!("`from` in a removed block takes no instance keys: {text}"))
                .at(r.location.clone())
                .hint("name the whole resource or module call (aws_sqs_queue.jobs, module.queue); to drop one instance, change its count or for_each")
                .into());
        }
        Use::Import if !resource => {
            return Err(bad(
                "must name a resource, not a module".into(),
                r.location.clone(),
            ));
        }
        _ => {}
    }
    Ok(BlockAddress {
        text,
        location: attr.expr.location(),
    })
}

fn required<'b>(block: &'b Block, name: &str, example: &str) -> Result<&'b Attribute, Diagnostics> {
    block.body.attribute(name).ok_or_else(|| {
        Diagnostic::error(format!("the {} block has no `{name}`", block.ident))
            .at(block.location.clone())
            .hint(format!("write: {example}"))
            .into()
    })
}

fn only_attributes(block: &Block, allowed: &[&str], blocks: &[&str]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for a in &block.body.attributes {
        if !allowed.contains(&a.name.as_str()) {
            let hint = match (block.ident.as_str(), a.name.as_str()) {
                ("import", "provider") => {
                    "the resource block's provider is used; remove `provider`".to_string()
                }
                _ => format!("a {} block takes: {}", block.ident, allowed.join(", ")),
            };
            diags.push(
                Diagnostic::error(format!(
                    "unexpected argument `{}` in a {} block",
                    a.name, block.ident
                ))
                .at(a.location.clone())
                .hint(hint),
            );
        }
    }
    for b in &block.body.blocks {
        if !blocks.contains(&b.ident.as_str()) {
            diags.push(
                Diagnostic::error(format!(
                    "unexpected block `{}` in a {} block",
                    b.ident, block.ident
                ))
                .at(b.location.clone()),
            );
        }
    }
    diags
}

fn no_labels(block: &Block) -> Result<(), Diagnostics> {
    if block.labels.is_empty() {
        Ok(())
    } else {
        Err(
            Diagnostic::error(format!("a {} block takes no labels", block.ident))
                .at(block.location.clone())
                .into(),
        )
    }
}

pub(crate) fn read_moved(block: &Block) -> Result<Moved, Diagnostics> {
    no_labels(block)?;
    let mut diags = only_attributes(block, &["from", "to"], &[]);
    let example = "moved { from = aws_sqs_queue.old  to = aws_sqs_queue.new }";
    let from = required(block, "from", example).and_then(|a| read_address(a, "moved", Use::Moved));
    let to = required(block, "to", example).and_then(|a| read_address(a, "moved", Use::Moved));
    let (from, to) = match (from, to) {
        (Ok(f), Ok(t)) => (f, t),
        (f, t) => {
            diags.extend(f.err().unwrap_or_default());
            diags.extend(t.err().unwrap_or_default());
            return Err(diags);
        }
    };
    if from.is_resource() != to.is_resource() {
        diags.push(
            Diagnostic::error(format!("a moved block cannot move {} to {}: one is a resource, the other a module", from.text, to.text))
                .at(block.location.clone())
                .hint("move a resource to a resource, or a module call to a module call (and a resource inside a module as module.x.type.name)"),
        );
    } else if from.is_resource() {
        fn ty(a: &BlockAddress) -> &str {
            resource_type(&a.text)
        }
        if ty(&from) != ty(&to) {
            diags.push(
                Diagnostic::error(format!("a moved block cannot change the resource type: {} is a {}, {} a {}", from.text, ty(&from), to.text, ty(&to)))
                    .at(block.location.clone())
                    .hint("objects move between addresses of the same type; to change the type, import the object under the new type and add a removed block with destroy = false for the old one"),
            );
        }
    }
    if from.text == to.text {
        diags.push(
            Diagnostic::error(format!("a moved block moves {} to itself", from.text))
                .at(block.location.clone())
                .hint("remove the block, or correct `to`"),
        );
    }
    if diags.is_empty() {
        Ok(Moved {
            from,
            to,
            location: block.location.clone(),
        })
    } else {
        Err(diags)
    }
}

pub(crate) fn read_removed(block: &Block) -> Result<Removed, Diagnostics> {
    no_labels(block)?;
    let mut diags = only_attributes(
        block,
        &["from"],
        &["lifecycle", "provisioner", "connection"],
    );
    let from = required(
        block,
        "from",
        "removed { from = aws_sqs_queue.old  lifecycle { destroy = false } }",
    )
    .and_then(|a| read_address(a, "removed", Use::Removed));
    let mut destroy = true;
    for lc in block.body.blocks_of("lifecycle") {
        for a in &lc.body.attributes {
            if a.name != "destroy" {
                diags.push(
                    Diagnostic::error(format!(
                        "unexpected argument `{}` in the lifecycle of a removed block",
                        a.name
                    ))
                    .at(a.location.clone())
                    .hint("it takes only destroy = true or false"),
                );
                continue;
            }
            match forge_lang::eval(&a.expr, &forge_lang::Scope::new("."))
                .ok()
                .and_then(|v| v.unmarked().as_bool())
            {
                Some(b) => destroy = b,
                None => diags.push(
                    Diagnostic::error("`destroy` must be a literal true or false")
                        .at(a.expr.location())
                        .hint("write: destroy = false"),
                ),
            }
        }
    }
    match from {
        Ok(from) if diags.is_empty() => Ok(Removed {
            from,
            destroy,
            location: block.location.clone(),
        }),
        Ok(_) => Err(diags),
        Err(d) => {
            diags.extend(d);
            Err(diags)
        }
    }
}

pub(crate) fn read_import(block: &Block) -> Result<Import, Diagnostics> {
    no_labels(block)?;
    let mut diags = only_attributes(block, &["to", "id", "for_each"], &[]);
    let example = "import { to = aws_sqs_queue.jobs  id = \"https://sqs...\" }";
    let collection = block.body.attribute("for_each").map(|a| a.expr.clone());
    let to = required(block, "to", example).and_then(|a| match &collection {
        Some(c) => read_for_each_target(a).map(|(to, modules, resource)| {
            (
                to,
                Some(ImportForEach {
                    collection: c.clone(),
                    modules,
                    resource,
                }),
            )
        }),
        None => read_address(a, "import", Use::Import).map(|to| (to, None)),
    });
    let id = required(block, "id", example);
    if collection.is_none()
        && let Ok(id) = &id
        && let Some(r) = id.expr.references().into_iter().find(|r| r.root == "each")
    {
        diags.push(
            Diagnostic::error("`each` in an import block without for_each")
                .at(r.location)
                .hint("add for_each = <map or set> to import one object per element, or write the id itself"),
        );
    }
    match (to, id) {
        (Ok((to, for_each)), Ok(id)) if diags.is_empty() => Ok(Import {
            to,
            id: id.expr.clone(),
            for_each,
            location: block.location.clone(),
        }),
        (to, id) => {
            diags.extend(to.err().unwrap_or_default());
            diags.extend(id.err().unwrap_or_default());
            Err(diags)
        }
    }
}

type ForEachTarget = (
    BlockAddress,
    Vec<(String, Option<Expr>)>,
    (String, String, Option<Expr>),
);

/// `to` of an import block with `for_each`: a resource address whose instance keys may be
/// expressions of `each.key` and `each.value` (Terraform allows nothing else there).
fn read_for_each_target(attr: &Attribute) -> Result<ForEachTarget, Diagnostics> {
    let bad = |why: &str, at: Location| -> Diagnostics {
        Diagnostic::error(format!("`to` in an import block {why}")).at(at).hint("write an address such as aws_sqs_queue.jobs[each.key] or module.q[each.key].aws_sqs_queue.jobs").into()
    };
    let Some((root, steps)) = attr.expr.as_traversal_with_indexes() else {
        return Err(bad("must be a resource address", attr.expr.location()));
    };
    let key = |e: &Expr| -> Result<Expr, Diagnostics> {
        let refs = e.references();
        match refs.iter().find(|r| {
            r.root != "each"
                || !matches!(r.steps.first(), Some(RefStep::Attr(a)) if a == "key" || a == "value")
        }) {
            Some(r) => Err(Diagnostic::error(format!(
                "`{}` in the instance key of an import block's `to`",
                r.root
            ))
            .at(r.location.clone())
            .hint("only each.key and each.value can be used in import address keys")
            .into()),
            None => Ok(e.clone()),
        }
    };
    let mut names = std::iter::once(TraversalStep::Attr(root))
        .chain(steps)
        .peekable();
    let mut modules = Vec::new();
    let name = |s: Option<TraversalStep>| match s {
        Some(TraversalStep::Attr(n)) => Ok(n),
        _ => Err(bad(
            "is not a resource address (type.name)",
            attr.expr.location(),
        )),
    };
    loop {
        let first = name(names.next())?;
        let second = name(names.next())?;
        let k = match names.peek() {
            Some(TraversalStep::Index(_)) => match names.next() {
                Some(TraversalStep::Index(e)) => Some(key(&e)?),
                _ => None,
            },
            _ => None,
        };
        if first == "module" {
            modules.push((second, k));
            continue;
        }
        if first == "data" {
            return Err(bad("cannot name a data source", attr.expr.location()));
        }
        if names.next().is_some() {
            return Err(bad(
                "has extra parts after the address",
                attr.expr.location(),
            ));
        }
        let text = attr.expr.source_text();
        return Ok((
            BlockAddress {
                text,
                location: attr.expr.location(),
            },
            modules,
            (first, second, k),
        ));
    }
}

/// The part after the module path: `type.name[key]`, or "" for a module address.
fn resource_part(text: &str) -> &str {
    let mut rest = text;
    while let Some(r) = rest.strip_prefix("module.") {
        // Skip the call name and key; keys are JSON strings that may hold dots.
        let mut end = r.len();
        let mut in_str = false;
        let mut escaped = false;
        for (i, c) in r.char_indices() {
            if in_str {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_str = false;
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '.' => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        rest = if end < r.len() { &r[end + 1..] } else { "" };
    }
    rest
}

pub(crate) fn address_ends_with_resource(text: &str) -> bool {
    !resource_part(text).is_empty()
}

/// The resource type of a resource address (`aws_sqs_queue` of `module.a.aws_sqs_queue.q[0]`).
pub(crate) fn resource_type(text: &str) -> &str {
    resource_part(text).split('.').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_part_skips_module_steps_with_dotted_keys() {
        assert_eq!(
            resource_part(r#"module.a["x.y"].module.b[0].aws_sqs_queue.q["k"]"#),
            r#"aws_sqs_queue.q["k"]"#
        );
        assert_eq!(resource_part("module.a"), "");
        assert_eq!(resource_part("module.a[0]"), "");
        assert_eq!(resource_type("aws_sqs_queue.q"), "aws_sqs_queue");
        assert!(address_ends_with_resource("module.a.terraform_data.x"));
        assert!(!address_ends_with_resource(r#"module.a["k.z"]"#));
    }
}
