//! Runs a unit's Terragrunt hooks for the engine ([`forge_engine::HookRunner`]; which hook
//! runs when is the engine's decision): the hook's program in its working directory (the
//! unit's folder unless it names another), with Terragrunt's `TG_CTX_COMMAND`,
//! `TG_CTX_HOOK_NAME` and `TG_CTX_TF_PATH` set, its output shown line by line on stderr
//! (stdout may be a JSON stream) prefixed with the unit and the hook, as Terragrunt
//! prefixes a unit's output in a run over many units. A unit with an `iam_role` runs its
//! hooks with the role's credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN`, as Terragrunt hands them to everything it runs for the unit, so an
//! `aws ...` in a hook acts as the unit does.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use forge_provider::UnitRole;

use forge_config::Unit;
use forge_config::unit_hooks::Hook;
use forge_engine::{HookRun, HookRunner};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The hook runner of every command that runs units.
#[derive(Default)]
pub struct ProcessHooks {
    /// Each unit role's credentials, assumed once per run and shared by every hook of
    /// every unit with that role while they stay valid (a run has many hooks, and STS
    /// answers each AssumeRole with a new session).
    roles: tokio::sync::Mutex<HashMap<UnitRole, Credentials>>,
}

impl HookRunner for ProcessHooks {
    fn run<'a>(&'a self, unit: &'a Unit, hook: &'a Hook, command: &'a str) -> HookRun<'a> {
        Box::pin(self.run_hook(unit, hook, command))
    }
}

/// How long assumed credentials must still be valid to be handed to another hook.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(5 * 60);

impl ProcessHooks {
    async fn run_hook(&self, unit: &Unit, hook: &Hook, command: &str) -> Result<(), String> {
        let role_credentials = match unit.settings.role() {
            Some(role) => self.role_environment(role).await?,
            None => Vec::new(),
        };
        run_hook(unit, hook, command, role_credentials).await
    }

    /// The unit role's credentials as the environment variables the AWS tools read.
    async fn role_environment(
        &self,
        role: &UnitRole,
    ) -> Result<Vec<(&'static str, String)>, String> {
        let mut roles = self.roles.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN)
        };
        let credentials = match roles.get(role).filter(|c| fresh(c)) {
            Some(c) => c.clone(),
            None => {
                let c = assume(role).await?;
                roles.insert(role.clone(), c.clone());
                c
            }
        };
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_string()),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key().to_string(),
            ),
        ];
        if let Some(token) = credentials.session_token() {
            env.push(("AWS_SESSION_TOKEN", token.to_string()));
        }
        Ok(env)
    }
}

async fn run_hook(
    unit: &Unit,
    hook: &Hook,
    command: &str,
    role_credentials: Vec<(&'static str, String)>,
) -> Result<(), String> {
    let prefix = format!("{} | {} {}: ", unit.name, hook.kind.block_name(), hook.name);
    let Some((program, args)) = hook.execute.split_first() else {
        return Ok(());
    };
    show(&prefix, &format!("running {}", hook.execute.join(" ")));
    // A relative program path with a folder in it is the working directory's, as a shell
    // started there would find it.
    let program_path = if program.contains('/') && !program.starts_with('/') {
        hook.working_dir.join(program)
    } else {
        PathBuf::from(program)
    };
    let forge_path = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "forge".into());
    let mut child = tokio::process::Command::new(&program_path)
        .envs(role_credentials)
        .args(args)
        .current_dir(&hook.working_dir)
        .env("TG_CTX_COMMAND", command)
        .env("TG_CTX_HOOK_NAME", &hook.name)
        .env("TG_CTX_TF_PATH", forge_path)
        .stdin(Stdio::null())
        .stdout(if hook.suppress_stdout {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {program:?} in {}: {e}",
                hook.working_dir.display()
            )
        })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let ((), ()) = tokio::join!(relay(stdout, &prefix), relay(stderr, &prefix));
    let status = child
        .wait()
        .await
        .map_err(|e| format!("waiting for {program:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` exited with {status}", hook.execute.join(" ")))
    }
}

/// Assumes the unit's role as its providers do.
async fn assume(role: &UnitRole) -> Result<Credentials, String> {
    use aws_credential_types::provider::ProvideCredentials;
    let ctx = super::terragrunt_host::context(Some(role)).await?;
    let provider = ctx
        .sdk
        .credentials_provider()
        .ok_or_else(|| format!("no credentials to assume {} with", role.role_arn))?;
    provider.provide_credentials().await.map_err(|e| {
        format!(
            "cannot assume the unit's iam_role {} for its hooks: {e}",
            role.role_arn
        )
    })
}

/// Shows each line the stream gives, prefixed, until it ends (bytes that are not UTF-8
/// shown replaced, so the stream is always read to its end and the program never blocks
/// on a full pipe).
async fn relay(stream: Option<impl AsyncRead + Unpin>, prefix: &str) {
    let Some(stream) = stream else { return };
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                show(prefix, text.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

fn show(prefix: &str, line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{prefix}{line}");
}
