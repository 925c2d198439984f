//! Terragrunt's `run_cmd(command, arg...)`: runs a program (no shell) and gives its stdout
//! without the one trailing newline, as Terragrunt does.
//!
//! - It runs in the folder of the configuration being loaded (the unit's folder, also for a
//!   call in an included root file; the read file's folder under `read_terragrunt_config`),
//!   which is Terragrunt's working directory for it. A relative program path
//!   (`./names.sh`) is taken from that folder.
//! - Results are kept by (folder, arguments) for as long as the [`crate::LoadContext`]
//!   (and its clones) lives, so a command called from several places, units or loads
//!   runs once; `--terragrunt-global-cache`
//!   keys by arguments only, `--terragrunt-no-cache` runs every time. A failure is not kept.
//! - forge-config never prints: the program passes a log in the context
//!   ([`crate::LoadContext::with_command_log`]) that is shown each command's output. `--terragrunt-quiet` withholds the stdout from it; a call
//!   with a sensitive argument is not logged at all and gives a sensitive value.
//! - A command that cannot start or exits non-zero is an error naming the call's
//!   `file:line:col` (added by the evaluator), the command, its exit code and the end of
//!   its stderr.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use forge_provider::Value;

/// One finished command, for the log.
#[derive(Debug)]
pub struct CommandRun<'a> {
    /// The folder it ran in.
    pub dir: &'a Path,
    /// The program and its arguments (without the `--terragrunt-*` options).
    pub argv: &'a [String],
    /// What it printed on stdout; `None` under `--terragrunt-quiet`.
    pub stdout: Option<&'a str>,
    pub stderr: &'a str,
}

pub type CommandLog = Arc<dyn Fn(&CommandRun<'_>) + Send + Sync>;

/// Cache key: the folder (or [`GLOBAL_KEY`]) and the arguments.
type Key = (String, Vec<String>);

/// The folder part of the key under `--terragrunt-global-cache` (Terragrunt's spelling).
const GLOBAL_KEY: &str = "_global_";

/// One slot per key, locked while its command runs, so concurrent callers of the same
/// command (units evaluating inputs at once) wait for the first instead of running it too.
type Slot = Arc<Mutex<Option<String>>>;

/// `run_cmd` for one load context: where finished commands are reported and the results
/// kept so far.
#[derive(Default)]
pub(crate) struct Commands {
    log: Option<CommandLog>,
    results: Mutex<HashMap<Key, Slot>>,
}

/// How many leading lines of stderr an error quotes (the end of it, where the cause is).
const STDERR_TAIL_LINES: usize = 5;
const STDERR_TAIL_CHARS: usize = 600;

impl Commands {
    pub(crate) fn new(log: Option<CommandLog>) -> Self {
        Commands {
            log,
            results: Mutex::default(),
        }
    }

    pub(crate) fn has_log(&self) -> bool {
        self.log.is_some()
    }

    fn slot(&self, key: Key) -> Slot {
        let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
        results.entry(key).or_default().clone()
    }

    /// `run_cmd(...)` evaluated in `dir`; `secret` when an argument was sensitive.
    pub(crate) fn run_cmd(
        &self,
        dir: &Path,
        args: &[Value],
        secret: bool,
    ) -> Result<Value, String> {
        let mut argv = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            argv.push(argument_text(a).ok_or_else(|| {
            format!(
                "argument {} is {}, not a string; pass the program and each argument as strings",
                i + 1,
                a.kind_name()
            )
        })?);
        }
        let (mut quiet, mut global, mut no_cache) = (false, false, false);
        let mut start = 0;
        while let Some(option) = argv.get(start) {
            match option.as_str() {
                "--terragrunt-quiet" => quiet = true,
                "--terragrunt-global-cache" => global = true,
                "--terragrunt-no-cache" => no_cache = true,
                _ => break,
            }
            start += 1;
        }
        let argv = &argv[start..];
        if argv.first().is_none_or(String::is_empty) {
            return Err("there is no command to run; write run_cmd(\"program\", \"argument\", ...), e.g. run_cmd(\"./names.sh\", \"bucket\")".to_string());
        }
        let mark = |text: String| {
            if secret {
                Value::string(text).sensitive()
            } else {
                Value::string(text)
            }
        };
        if no_cache {
            return run(dir, argv, quiet, secret, self.log.as_ref()).map(mark);
        }
        let folder = if global {
            GLOBAL_KEY.to_string()
        } else {
            dir.to_string_lossy().into_owned()
        };
        let slot = self.slot((folder, argv.to_vec()));
        let mut cached = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(out) = cached.as_ref() {
            return Ok(mark(out.clone()));
        }
        let out = run(dir, argv, quiet, secret, self.log.as_ref())?;
        *cached = Some(out.clone());
        Ok(mark(out))
    }
}

/// Terragrunt's arguments are strings; numbers and bools convert as HCL converts them.
fn argument_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Some(format!("{}", *n as i64)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Runs the command in `dir`; `quiet` keeps its stdout out of the log; nothing at all is
/// logged for a `secret` call, whose arguments the log would show.
fn run(
    dir: &Path,
    argv: &[String],
    quiet: bool,
    secret: bool,
    log: Option<&CommandLog>,
) -> Result<String, String> {
    let shown = argv.join(" ");
    let program = program_path(dir, &argv[0]);
    // stdin is the terminal's, as under Terragrunt, so a command may prompt.
    let output = Command::new(&program)
        .args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            format!(
                "cannot run `{shown}` in {}: {e}; check that the program exists and is executable (a script next to terragrunt.hcl is written \"./script.sh\")",
                dir.display()
            )
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let how = match output.status.code() {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_string(),
        };
        let tail = stderr_tail(&stderr);
        let said = if tail.is_empty() {
            " and printed nothing on stderr".to_string()
        } else {
            format!(", its stderr ending: {tail}")
        };
        return Err(format!(
            "`{shown}` {how} in {}{said}; fix the command or what it reads, then run again",
            dir.display()
        ));
    }
    if let Some(log) = log.filter(|_| !secret && (!quiet || !stderr.is_empty())) {
        // A quiet command still shows its stderr, as Terragrunt does; only stdout is withheld.
        log(&CommandRun {
            dir,
            argv,
            stdout: (!quiet).then_some(&*stdout),
            stderr: &stderr,
        });
    }
    Ok(stdout.strip_suffix('\n').unwrap_or(&stdout).to_string())
}

/// A relative path with a separator is relative to the command's folder (as Go's exec
/// resolves it for Terragrunt); a bare name is looked up on PATH.
fn program_path(dir: &Path, program: &str) -> PathBuf {
    let path = Path::new(program);
    if path.is_relative() && path.components().count() > 1 {
        dir.join(path)
    } else {
        path.to_path_buf()
    }
}

/// The last lines of stderr on one line (`a | b`), at most [`STDERR_TAIL_CHARS`] long.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join(" | ");
    let count = tail.chars().count();
    if count <= STDERR_TAIL_CHARS {
        return tail;
    }
    let kept: String = tail.chars().skip(count - STDERR_TAIL_CHARS).collect();
    format!("...{kept}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A logged command: argv, stdout (None when quiet), stderr.
    type Logged = (Vec<String>, Option<String>, String);

    use std::sync::OnceLock;

    /// Every logged command, from all tests of this module (each looks for its own marker).
    fn logged() -> &'static Mutex<Vec<Logged>> {
        static RECORDS: OnceLock<Mutex<Vec<Logged>>> = OnceLock::new();
        RECORDS.get_or_init(Default::default)
    }

    /// The commands of one context shared by the tests of this module, logging to
    /// [`logged`].
    fn commands() -> &'static Commands {
        static COMMANDS: OnceLock<Commands> = OnceLock::new();
        COMMANDS.get_or_init(|| {
            Commands::new(Some(Arc::new(|run: &CommandRun<'_>| {
                let mut r = logged().lock().unwrap_or_else(PoisonError::into_inner);
                r.push((
                    run.argv.to_vec(),
                    run.stdout.map(str::to_string),
                    run.stderr.to_string(),
                ));
            })))
        })
    }

    fn run_cmd(dir: &Path, args: &[Value], secret: bool) -> Result<Value, String> {
        commands().run_cmd(dir, args, secret)
    }

    fn logs_of(marker: &str) -> Vec<Logged> {
        let records = logged().lock().unwrap_or_else(PoisonError::into_inner);
        records
            .iter()
            .filter(|(argv, _, _)| argv.iter().any(|a| a.contains(marker)))
            .cloned()
            .collect()
    }

    fn strings(args: &[&str]) -> Vec<Value> {
        args.iter().map(|a| Value::string(*a)).collect()
    }

    fn marker() -> String {
        format!("m{}", std::process::id())
            + &format!("{:?}", std::time::SystemTime::now())
                .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    }

    #[test]
    fn output_loses_one_trailing_newline_and_the_command_runs_in_the_folder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical");
        let out = run_cmd(&dir, &strings(&["printf", "a\\n\\n"]), false).expect("runs");
        assert_eq!(out, Value::string("a\n"));
        assert_eq!(
            run_cmd(&dir, &strings(&["pwd"]), false),
            Ok(Value::string(dir.to_string_lossy()))
        );
        std::fs::write(dir.join("names.sh"), "#!/bin/sh\necho \"bucket-$1\"\n").expect("write");
        let chmod = Command::new("chmod")
            .arg("+x")
            .arg(dir.join("names.sh"))
            .status()
            .expect("chmod");
        assert!(chmod.success());
        assert_eq!(
            run_cmd(&dir, &strings(&["./names.sh", "x"]), false),
            Ok(Value::string("bucket-x"))
        );
        assert_eq!(
            run_cmd(
                &dir,
                &[Value::string("echo"), Value::Number(3.0), Value::Bool(true)],
                false
            ),
            Ok(Value::string("3 true"))
        );
    }

    #[test]
    fn quiet_keeps_stdout_out_of_the_log_and_a_secret_argument_out_of_it_entirely() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical");
        let (loud, quiet, secret) = (marker() + "loud", marker() + "quiet", marker() + "secret");
        logged();
        assert_eq!(
            run_cmd(&dir, &strings(&["echo", &loud]), false),
            Ok(Value::string(&loud))
        );
        assert_eq!(
            logs_of(&loud),
            vec![(
                strings_of(&["echo", &loud]),
                Some(format!("{loud}\n")),
                String::new()
            )]
        );

        let value = run_cmd(
            &dir,
            &strings(&["--terragrunt-quiet", "echo", &quiet]),
            false,
        );
        assert_eq!(
            value,
            Ok(Value::string(&quiet)),
            "the value is the output all the same"
        );
        assert!(logs_of(&quiet).is_empty(), "{:?}", logs_of(&quiet));
        // A quiet command's stderr is still shown; its stdout is not.
        let script = format!("echo {quiet}-out; echo {quiet}-err >&2");
        run_cmd(
            &dir,
            &strings(&["--terragrunt-quiet", "sh", "-c", &script]),
            false,
        )
        .expect("runs");
        assert_eq!(
            logs_of(&format!("{quiet}-out")),
            vec![(
                strings_of(&["sh", "-c", &script]),
                None,
                format!("{quiet}-err\n")
            )]
        );

        let value = run_cmd(
            &dir,
            &strings(&["sh", "-c", &format!("echo {secret}; echo {secret} >&2")]),
            true,
        )
        .expect("runs");
        assert_eq!(value, Value::string(&secret).sensitive());
        assert!(logs_of(&secret).is_empty());
    }

    fn strings_of(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn a_failing_command_names_itself_its_exit_code_and_the_end_of_its_stderr() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical");
        let script = "for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; exit 3";
        let err = run_cmd(&dir, &strings(&["sh", "-c", script]), false).expect_err("fails");
        assert!(
            err.starts_with(&format!(
                "`sh -c {script}` exited with code 3 in {}",
                dir.display()
            )),
            "{err}"
        );
        assert!(
            err.contains("its stderr ending: line3 | line4 | line5 | line6 | line7;"),
            "{err}"
        );
        assert!(!err.contains("line2"), "only the tail: {err}");
        let err = run_cmd(&dir, &strings(&["./not-here.sh"]), false).expect_err("fails");
        assert!(err.starts_with("cannot run `./not-here.sh` in "), "{err}");
        let err = run_cmd(&dir, &strings(&["--terragrunt-quiet"]), false).expect_err("fails");
        assert!(err.starts_with("there is no command to run"), "{err}");
        let err = run_cmd(&dir, &[Value::string("echo"), Value::Null], false).expect_err("fails");
        assert!(err.starts_with("argument 2 is null, not a string"), "{err}");
    }

    #[test]
    fn a_command_runs_once_per_folder_and_arguments() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical");
        let other = dir.join("other");
        std::fs::create_dir(&other).expect("mkdir");
        let count = dir.join("count");
        // Appends a line per run and prints how many runs there have been.
        let script = format!("echo run >> {0}; wc -l < {0} | tr -d ' '", count.display());
        let call = |d: &Path, opts: &[&str]| {
            let mut args = strings(opts);
            args.extend(strings(&["sh", "-c", &script]));
            run_cmd(d, &args, false).expect("runs")
        };
        assert_eq!(call(&dir, &[]), Value::string("1"));
        assert_eq!(
            call(&dir, &[]),
            Value::string("1"),
            "the second call is answered from the cache"
        );
        assert_eq!(
            call(&dir, &["--terragrunt-quiet"]),
            Value::string("1"),
            "options are not part of the key"
        );
        assert_eq!(std::fs::read_to_string(&count).expect("read"), "run\n");
        assert_eq!(
            call(&other, &[]),
            Value::string("2"),
            "another folder runs it again"
        );
        assert_eq!(
            call(&dir, &["--terragrunt-global-cache"]),
            Value::string("3")
        );
        assert_eq!(
            call(&other, &["--terragrunt-global-cache"]),
            Value::string("3"),
            "global: the folder is not part of the key"
        );
        assert_eq!(call(&dir, &["--terragrunt-no-cache"]), Value::string("4"));
        assert_eq!(call(&dir, &["--terragrunt-no-cache"]), Value::string("5"));
    }
}
