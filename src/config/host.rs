//! Terragrunt's built-in functions (`find_in_parent_folders`, `path_relative_to_include`,
//! `read_terragrunt_config`, `get_env`, `run_cmd` (in `run_cmd.rs`), the AWS identity
//! functions (in `host_aws.rs`), ...), offered to the evaluator as a
//! [`FunctionHost`]. They are always evaluated in the context of the unit being loaded, as
//! Terragrunt does when a child includes the root file: `find_in_parent_folders` searches
//! upward from the unit, not from the root file.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use forge_lang::{FunctionHost, Scope};
use forge_provider::Value;

use crate::context::LoadContext;

/// The names this host answers, for "did you mean" hints and the docs.
pub(crate) const TERRAGRUNT_FUNCTIONS: &[&str] = &[
    "find_in_parent_folders",
    "path_relative_to_include",
    "path_relative_from_include",
    "get_terragrunt_dir",
    "get_original_terragrunt_dir",
    "get_parent_terragrunt_dir",
    "read_terragrunt_config",
    "get_env",
    "run_cmd",
    "get_aws_account_id",
    "get_aws_caller_identity_arn",
    "get_aws_caller_identity_user_id",
    "get_aws_account_alias",
    "get_terraform_commands_that_need_vars",
    "get_terraform_commands_that_need_locking",
    "get_terraform_commands_that_need_input",
    "get_terraform_commands_that_need_parallelism",
];

/// The unit's context for Terragrunt functions.
#[derive(Clone, Debug)]
pub(crate) struct TerragruntHost {
    /// The folder of the unit being loaded (`get_terragrunt_dir()`).
    pub unit_dir: PathBuf,
    /// The folder of the included root file, when there is one.
    pub include_dir: Option<PathBuf>,
    /// What the AWS functions and `run_cmd` use.
    pub context: LoadContext,
    /// The files `read_terragrunt_config` is reading, outermost first: a file that reads
    /// one already on this chain would recurse without end (and overflow the stack).
    reading: Vec<PathBuf>,
}

/// How deep `read_terragrunt_config` calls may nest. Real configurations read one or two
/// levels (an env file reading an account file); the limit keeps a long chain of distinct
/// files from exhausting the stack.
pub(crate) const MAX_READ_DEPTH: usize = 32;

impl TerragruntHost {
    pub fn new(unit_dir: &Path, context: &LoadContext) -> Self {
        TerragruntHost {
            unit_dir: unit_dir.to_path_buf(),
            include_dir: None,
            context: context.clone(),
            reading: Vec::new(),
        }
    }

    pub fn with_include(&self, include_dir: &Path) -> Self {
        TerragruntHost {
            unit_dir: self.unit_dir.clone(),
            include_dir: Some(include_dir.to_path_buf()),
            context: self.context.clone(),
            reading: self.reading.clone(),
        }
    }

    /// `path_relative_to_include()`: the unit's folder seen from the root file's folder.
    pub fn path_relative_to_include(&self) -> String {
        match &self.include_dir {
            Some(inc) => relative_path(inc, &self.unit_dir),
            None => ".".to_string(),
        }
    }

    fn path_relative_from_include(&self) -> String {
        match &self.include_dir {
            Some(inc) => relative_path(&self.unit_dir, inc),
            None => ".".to_string(),
        }
    }

    fn find_in_parent_folders(&self, args: &[Value]) -> Result<Value, String> {
        let name = match args.first() {
            Some(v) => v
                .as_str()
                .ok_or("the file name must be a string")?
                .to_string(),
            None => "terragrunt.hcl".to_string(),
        };
        let fallback = args.get(1);
        // Terragrunt starts in the parent of the unit's folder, so a unit never finds itself.
        let mut dir = self.unit_dir.parent();
        while let Some(d) = dir {
            let candidate = d.join(&name);
            if candidate.exists() {
                return Ok(Value::string(candidate.to_string_lossy()));
            }
            dir = d.parent();
        }
        match fallback {
            Some(v) => Ok(v.clone()),
            None => Err(format!(
                "no file named {name:?} in any folder above {}; create it or pass a fallback as the second argument",
                self.unit_dir.display()
            )),
        }
    }

    fn read_terragrunt_config(&self, args: &[Value]) -> Result<Value, String> {
        let path = args
            .first()
            .and_then(Value::as_str)
            .ok_or("the first argument must be a file path")?;
        let path = self.unit_dir.join(path);
        if !path.exists() {
            if let Some(default) = args.get(1) {
                return Ok(default.clone());
            }
            return Err(format!("{} does not exist", path.display()));
        }
        let path = path.canonicalize().unwrap_or(path);
        if self.reading.contains(&path) || self.reading.len() >= MAX_READ_DEPTH {
            let mut chain: Vec<String> = self
                .reading
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            chain.push(path.display().to_string());
            let what = if self.reading.contains(&path) {
                "these calls form a cycle".to_string()
            } else {
                format!("these calls nest deeper than {MAX_READ_DEPTH} files")
            };
            return Err(format!(
                "{what}: {}; read each shared file from the units that need it, not from each other",
                chain.join(" -> ")
            ));
        }
        let body = forge_lang::parse_file(&path).map_err(nested_error)?;
        let file_dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut reading = self.reading.clone();
        reading.push(path.clone());
        // The file read is evaluated in its own folder, as Terragrunt does.
        let host = TerragruntHost {
            unit_dir: file_dir.clone(),
            include_dir: self.include_dir.clone(),
            context: self.context.clone(),
            reading,
        };
        let locals = crate::locals::eval_locals(&body, &host.unit_dir, &host, &BTreeMap::new())
            .map_err(nested_error)?;
        let mut out = BTreeMap::new();
        let scope = Scope {
            roots: BTreeMap::from([("local".to_string(), locals.clone())]),
            base_dir: file_dir,
            host: Some(&host),
        };
        for attr in &body.attributes {
            let value = forge_lang::eval(&attr.expr, &scope).map_err(nested_error)?;
            out.insert(attr.name.clone(), value);
        }
        out.insert("locals".to_string(), locals);
        out.entry("inputs".to_string())
            .or_insert_with(|| Value::Object(BTreeMap::new()));
        Ok(Value::Object(out))
    }
}

impl FunctionHost for TerragruntHost {
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if !TERRAGRUNT_FUNCTIONS.contains(&name) {
            return None;
        }
        if args.iter().any(|a| !a.is_wholly_known()) {
            return Some(Ok(Value::Unknown));
        }
        // run_cmd's output is as secret as its arguments: the marks are read before they go.
        let secret = args.iter().any(Value::contains_sensitive);
        let args: Vec<Value> = args.iter().map(Value::deep_unmarked).collect();
        let dir_text = |p: &Path| Ok(Value::string(p.to_string_lossy()));
        Some(match name {
            "find_in_parent_folders" => self.find_in_parent_folders(&args),
            "path_relative_to_include" => Ok(Value::string(self.path_relative_to_include())),
            "path_relative_from_include" => Ok(Value::string(self.path_relative_from_include())),
            "get_terragrunt_dir" | "get_original_terragrunt_dir" => dir_text(&self.unit_dir),
            "get_parent_terragrunt_dir" => {
                dir_text(self.include_dir.as_deref().unwrap_or(&self.unit_dir))
            }
            "read_terragrunt_config" => self.read_terragrunt_config(&args),
            "get_env" => get_env(&args),
            "run_cmd" => self
                .context
                .commands()
                .run_cmd(&self.unit_dir, &args, secret),
            commands if commands.starts_with("get_terraform_commands_that_need_") => {
                crate::extra_arguments::terraform_commands(commands)
                    .ok_or_else(|| format!("{commands} is not a Terragrunt function"))
            }
            aws if crate::host_aws::AWS_FUNCTIONS.contains(&aws) => {
                self.context.aws().call(aws, &args, self.context.role())
            }
            _ => return None,
        })
    }
}

/// The error of a file `read_terragrunt_config` read, as one line for the caller's
/// diagnostic: what went wrong and where in that file (the evaluator adds the call's own
/// place and the function's name, so a chain of reads lists each call site once).
fn nested_error(diags: forge_lang::Diagnostics) -> String {
    let Some(first) = diags.iter().next() else {
        return "the file could not be read".to_string();
    };
    let what = first
        .summary
        .strip_prefix("read_terragrunt_config: ")
        .unwrap_or(&first.summary);
    let mut out = match &first.location {
        Some(at) => format!("{what} (at {at})"),
        None => what.to_string(),
    };
    if let Some(hint) = &first.hint {
        out.push_str("; ");
        out.push_str(hint);
    }
    out
}

fn get_env(args: &[Value]) -> Result<Value, String> {
    let name = args
        .first()
        .and_then(Value::as_str)
        .ok_or("the variable name must be a string")?;
    match (std::env::var(name), args.get(1)) {
        (Ok(v), _) => Ok(Value::string(v)),
        (Err(_), Some(default)) => Ok(default.clone()),
        (Err(_), None) => Err(format!(
            "the environment variable {name} is not set; set it or give a default as the second argument"
        )),
    }
}

/// `to` relative to `from`, with `/` separators (`production/sqs`, `../..`); both absolute.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_go_up_and_down() {
        assert_eq!(
            relative_path(
                Path::new("/a/stacks"),
                Path::new("/a/stacks/production/sqs")
            ),
            "production/sqs"
        );
        assert_eq!(
            relative_path(
                Path::new("/a/stacks/production/sqs"),
                Path::new("/a/stacks")
            ),
            "../.."
        );
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/b")), ".");
        assert_eq!(
            relative_path(Path::new("/a/b/c"), Path::new("/a/d")),
            "../../d"
        );
    }

    #[test]
    fn find_in_parent_folders_starts_above_the_unit_and_takes_a_fallback() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().canonicalize().expect("canonical");
        let unit = root.join("env/app");
        std::fs::create_dir_all(&unit).expect("mkdir");
        std::fs::write(root.join("terragrunt.hcl"), "").expect("write");
        std::fs::write(unit.join("terragrunt.hcl"), "").expect("write");
        std::fs::write(root.join("env/env.hcl"), "").expect("write");
        let host = TerragruntHost::new(&unit, &LoadContext::default());
        let found = |args: &[Value]| host.call("find_in_parent_folders", args).expect("mine");
        assert_eq!(
            found(&[]),
            Ok(Value::string(root.join("terragrunt.hcl").to_string_lossy()))
        );
        assert_eq!(
            found(&[Value::string("env.hcl")]),
            Ok(Value::string(root.join("env/env.hcl").to_string_lossy()))
        );
        assert_eq!(
            found(&[Value::string("none.hcl"), Value::string("fb")]),
            Ok(Value::string("fb"))
        );
        let err = found(&[Value::string("none.hcl")]).expect_err("missing");
        assert!(err.contains("no file named \"none.hcl\""), "{err}");
    }

    #[test]
    fn read_terragrunt_config_refuses_a_cycle_naming_the_chain() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical");
        // A file that reads itself, and two files that read each other: both recursed
        // until the stack overflowed.
        std::fs::write(
            dir.join("self.hcl"),
            "locals {\n  me = read_terragrunt_config(\"self.hcl\")\n}\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("a.hcl"),
            "locals {\n  b = read_terragrunt_config(\"b.hcl\")\n}\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("b.hcl"),
            "locals {\n  a = read_terragrunt_config(\"a.hcl\")\n}\n",
        )
        .expect("write");
        let host = TerragruntHost::new(&dir, &LoadContext::default());
        let err = host
            .call("read_terragrunt_config", &[Value::string("self.hcl")])
            .expect("mine")
            .expect_err("a file reading itself");
        assert!(err.contains("form a cycle"), "{err}");
        assert!(err.contains("self.hcl:2:8"), "names the call: {err}");
        let err = host
            .call("read_terragrunt_config", &[Value::string("a.hcl")])
            .expect("mine")
            .expect_err("two files reading each other");
        let a = dir.join("a.hcl").display().to_string();
        let b = dir.join("b.hcl").display().to_string();
        assert!(err.contains(&format!("{a} -> {b} -> {a}")), "{err}");
    }

    #[test]
    fn read_terragrunt_config_bounds_a_long_chain_of_distinct_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical");
        for i in 0..=MAX_READ_DEPTH {
            std::fs::write(
                dir.join(format!("f{i}.hcl")),
                format!(
                    "locals {{\n  next = read_terragrunt_config(\"f{}.hcl\")\n}}\n",
                    i + 1
                ),
            )
            .expect("write");
        }
        let host = TerragruntHost::new(&dir, &LoadContext::default());
        let err = host
            .call("read_terragrunt_config", &[Value::string("f0.hcl")])
            .expect("mine")
            .expect_err("too deep");
        assert!(
            err.contains(&format!("deeper than {MAX_READ_DEPTH}")),
            "{err}"
        );
    }

    #[test]
    fn read_terragrunt_config_returns_locals_and_inputs_or_the_default() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical");
        std::fs::write(
            dir.join("common.hcl"),
            "locals {\n  a = 1\n  b = local.a + 1\n}\ninputs = { x = local.b }\n",
        )
        .expect("write");
        let host = TerragruntHost::new(&dir, &LoadContext::default());
        let value = host
            .call("read_terragrunt_config", &[Value::string("common.hcl")])
            .expect("mine")
            .expect("reads");
        assert_eq!(
            value.get("locals").and_then(|l| l.get("b")),
            Some(&Value::Number(2.0))
        );
        assert_eq!(
            value.get("inputs").and_then(|l| l.get("x")),
            Some(&Value::Number(2.0))
        );
        let fallback = host
            .call(
                "read_terragrunt_config",
                &[Value::string("nope.hcl"), Value::Null],
            )
            .expect("mine");
        assert_eq!(fallback, Ok(Value::Null));
        let err = host
            .call("read_terragrunt_config", &[Value::string("nope.hcl")])
            .expect("mine")
            .expect_err("missing");
        assert!(err.contains("nope.hcl does not exist"), "{err}");
    }

    #[test]
    fn include_paths_are_relative_both_ways() {
        let host = TerragruntHost::new(
            Path::new("/r/stacks/production/iam"),
            &LoadContext::default(),
        )
        .with_include(Path::new("/r/stacks"));
        assert_eq!(
            host.call("path_relative_to_include", &[]),
            Some(Ok(Value::string("production/iam")))
        );
        assert_eq!(
            host.call("path_relative_from_include", &[]),
            Some(Ok(Value::string("../..")))
        );
        assert_eq!(
            host.call("get_parent_terragrunt_dir", &[]),
            Some(Ok(Value::string("/r/stacks")))
        );
        assert_eq!(
            host.call("get_terragrunt_dir", &[]),
            Some(Ok(Value::string("/r/stacks/production/iam")))
        );
    }

    #[test]
    fn unknown_arguments_give_unknown() {
        let host = TerragruntHost::new(Path::new("/tmp"), &LoadContext::default());
        assert_eq!(
            host.call("get_env", &[Value::Unknown]),
            Some(Ok(Value::Unknown))
        );
        assert_eq!(host.call("not_mine", &[]), None);
    }

    #[test]
    fn get_env_uses_the_default_or_says_what_to_set() {
        let host = TerragruntHost::new(Path::new("/tmp"), &LoadContext::default());
        let name = Value::string("FORGE_TEST_SURELY_UNSET_VARIABLE");
        assert_eq!(
            host.call("get_env", &[name.clone(), Value::string("d")]),
            Some(Ok(Value::string("d")))
        );
        let err = host
            .call("get_env", &[name])
            .and_then(Result::err)
            .unwrap_or_default();
        assert!(
            err.contains("FORGE_TEST_SURELY_UNSET_VARIABLE is not set"),
            "{err}"
        );
    }
}
