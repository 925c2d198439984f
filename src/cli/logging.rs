//! `FORGE_LOG` (or Terraform's `TF_LOG`): forge's own events and the AWS SDK's (requests,
//! retries, request ids, where credentials came from), at `trace`, `debug`, `info`, `warn`
//! or `error`, to stderr or to the file `FORGE_LOG_PATH` (`TF_LOG_PATH`) names, as text or
//! (`FORGE_LOG_FORMAT=json`, or `FORGE_LOG=json` as Terraform's `TF_LOG=json`) one JSON
//! object a line.
//!
//! Secrets are never written: every line passes through [`Redactor`], which blanks the
//! values of the AWS secret variables of forge's environment and anything shaped like a
//! credential, token or signature, whatever logged it. The SDK's own switch for logging
//! request and response bodies (`LOG_SENSITIVE_BODIES`) is refused while logging.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use regex::Regex;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// What the environment asks for; `None` when logging is off.
#[derive(Debug, PartialEq)]
pub struct Settings {
    pub level: &'static str,
    pub json: bool,
    pub path: Option<PathBuf>,
}

/// The first of the variables that is set, with its name.
fn first_set(env: &dyn Fn(&str) -> Option<String>, names: [&str; 2]) -> Option<(String, String)> {
    names
        .into_iter()
        .find_map(|n| env(n).map(|v| (n.to_string(), v)))
}

/// Reads `FORGE_LOG`/`TF_LOG`, `FORGE_LOG_FORMAT` and `FORGE_LOG_PATH`/`TF_LOG_PATH`; a
/// value it does not know is an error naming the variable.
pub fn settings(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Settings>, String> {
    let Some((name, raw)) = first_set(env, ["FORGE_LOG", "TF_LOG"]) else {
        return Ok(None);
    };
    let mut json = false;
    let level = match raw.trim().to_ascii_lowercase().as_str() {
        "" | "off" => return Ok(None),
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" => "warn",
        "error" => "error",
        // Terraform's TF_LOG=json: everything, as JSON.
        "json" => {
            json = true;
            "trace"
        }
        _ => {
            return Err(format!(
                "{name}={raw:?} is not a log level; use trace, debug, info, warn, error, json or off"
            ));
        }
    };
    match env("FORGE_LOG_FORMAT").as_deref().map(str::trim) {
        None | Some("") => {}
        Some(f) if f.eq_ignore_ascii_case("text") => json = false,
        Some(f) if f.eq_ignore_ascii_case("json") => json = true,
        Some(f) => {
            return Err(format!(
                "FORGE_LOG_FORMAT={f:?} is not a log format; use text or json"
            ));
        }
    }
    if env("LOG_SENSITIVE_BODIES").is_some_and(|v| !v.is_empty() && v != "false") {
        return Err(format!(
            "LOG_SENSITIVE_BODIES is set: the AWS SDK would log request and response bodies, secrets included, with {name}; unset it"
        ));
    }
    let path = first_set(env, ["FORGE_LOG_PATH", "TF_LOG_PATH"])
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    Ok(Some(Settings { level, json, path }))
}

/// Blanks secrets in a log line.
#[derive(Clone)]
pub struct Redactor {
    /// Values to blank wherever they appear (the AWS secret variables' values).
    literals: Vec<String>,
    /// `name: value` / `name=value` / `"name":"value"` pairs whose value is a secret.
    pairs: Regex,
    /// SigV4's signature, in an Authorization header or a presigned URL.
    signature: Regex,
}

const REDACTED: &str = "** redacted **";

impl Redactor {
    pub fn new(env: &dyn Fn(&str) -> Option<String>) -> Redactor {
        let literals = [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
        ]
        .into_iter()
        .filter_map(env)
        // A value this short would blank ordinary words; such a key is no secret anyway.
        .filter(|v| v.len() >= 8)
        .collect();
        let pairs = Regex::new(
            r#"(?i)((?:x-amz-security-token|x-amz-session-token|secret_?access_?key|session_?token|security_?token|secret_?string|secret_?binary|password|private_?key)["']?\s*[:=]\s*["']?)([^"',\s}\]*][^"',\s}\]]*)"#,
        )
        .expect("the redaction pattern is valid");
        let signature = Regex::new(r"(?i)(Signature=|X-Amz-Signature=)[0-9a-f]+")
            .expect("the signature pattern is valid");
        Redactor {
            literals,
            pairs,
            signature,
        }
    }

    pub fn redact(&self, line: &str) -> String {
        let mut out = line.to_string();
        for secret in &self.literals {
            out = out.replace(secret.as_str(), REDACTED);
        }
        let out = self.pairs.replace_all(&out, format!("${{1}}{REDACTED}"));
        self.signature
            .replace_all(&out, format!("${{1}}{REDACTED}"))
            .into_owned()
    }
}

/// Where log lines go: stderr or the log file, each event redacted as a whole.
#[derive(Clone)]
struct Sink {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    redactor: Redactor,
}

/// One event's text, written redacted when the formatter is done with it.
struct EventWriter {
    sink: Sink,
    buffer: Vec<u8>,
}

impl Write for EventWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let clean = self.sink.redactor.redact(&text);
        let mut out = self.sink.out.lock().unwrap_or_else(|p| p.into_inner());
        // A log that cannot be written must not stop the run.
        let _ = out.write_all(clean.as_bytes());
        let _ = out.flush();
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> EventWriter {
        EventWriter {
            sink: self.clone(),
            buffer: Vec::new(),
        }
    }
}

/// Installs the subscriber the environment asks for (none when logging is off).
pub fn init() -> Result<(), String> {
    let env = |name: &str| std::env::var(name).ok();
    let Some(s) = settings(&env)? else {
        return Ok(());
    };
    let out: Box<dyn Write + Send> = match &s.path {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stderr()),
    };
    let sink = Sink {
        out: Arc::new(Mutex::new(out)),
        redactor: Redactor::new(&env),
    };
    let filter = EnvFilter::new(s.level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink)
        .with_ansi(false);
    let installed = if s.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    installed.map_err(|e| format!("cannot start logging: {e}"))?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        commit = env!("FORGE_GIT_COMMIT"),
        level = s.level,
        "forge logging started"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn levels_formats_and_paths_come_from_forge_or_terraform_variables() {
        assert_eq!(settings(&env_of(&[])), Ok(None));
        assert_eq!(settings(&env_of(&[("TF_LOG", "off")])), Ok(None));
        let s = settings(&env_of(&[
            ("TF_LOG", "DEBUG"),
            ("TF_LOG_PATH", "/tmp/x.log"),
        ]))
        .expect("ok")
        .expect("on");
        assert_eq!((s.level, s.json), ("debug", false));
        assert_eq!(s.path, Some(PathBuf::from("/tmp/x.log")));
        // FORGE_LOG wins over TF_LOG.
        let s = settings(&env_of(&[("FORGE_LOG", "warn"), ("TF_LOG", "trace")]))
            .expect("ok")
            .expect("on");
        assert_eq!(s.level, "warn");
        let s = settings(&env_of(&[("TF_LOG", "json")]))
            .expect("ok")
            .expect("on");
        assert_eq!((s.level, s.json), ("trace", true));
        let s = settings(&env_of(&[
            ("FORGE_LOG", "info"),
            ("FORGE_LOG_FORMAT", "json"),
        ]))
        .expect("ok")
        .expect("on");
        assert!(s.json);
        let e = settings(&env_of(&[("FORGE_LOG", "verbose")])).expect_err("bad level");
        assert!(
            e.contains("FORGE_LOG=\"verbose\" is not a log level"),
            "{e}"
        );
        let e = settings(&env_of(&[
            ("FORGE_LOG", "info"),
            ("FORGE_LOG_FORMAT", "xml"),
        ]))
        .expect_err("bad format");
        assert!(e.contains("FORGE_LOG_FORMAT"), "{e}");
        let e = settings(&env_of(&[
            ("TF_LOG", "info"),
            ("LOG_SENSITIVE_BODIES", "true"),
        ]))
        .expect_err("bodies");
        assert!(e.contains("LOG_SENSITIVE_BODIES"), "{e}");
    }

    #[test]
    fn secrets_are_blanked_whatever_logged_them() {
        let r = Redactor::new(&env_of(&[
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
            ),
            ("AWS_SESSION_TOKEN", "short"),
        ]));
        let line = r#"creds secret=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY x-amz-security-token: FwoGZXIvYXdzEJr "SecretString":"hunter2" authorization: AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0123abcd"#;
        let clean = r.redact(line);
        for secret in [
            "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
            "FwoGZXIvYXdzEJr",
            "hunter2",
            "0123abcd",
        ] {
            assert!(!clean.contains(secret), "{secret} in {clean}");
        }
        // What is not secret stays readable.
        assert!(
            clean.contains("Credential=AKIA/20260101/us-east-1/sqs/aws4_request"),
            "{clean}"
        );
        assert_eq!(r.redact("a short value stays"), "a short value stays");
        // What the SDK redacted itself is left as it wrote it.
        assert_eq!(
            r.redact(r#"secret_access_key: "** redacted **""#),
            r#"secret_access_key: "** redacted **""#
        );
    }
}
