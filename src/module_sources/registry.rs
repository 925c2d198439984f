//! Terraform's module registry protocol: service discovery
//! (`https://HOST/.well-known/terraform.json`, its `modules.v1` URL), the versions list
//! (`.../NAMESPACE/NAME/PROVIDER/versions`) and the download endpoint
//! (`.../NAMESPACE/NAME/PROVIDER/VERSION/download`), whose `X-Terraform-Get` header (or
//! JSON `location`) names the source that holds the module: a git repository or an
//! archive, fetched in turn.
//!
//! A token from `TF_TOKEN_<host>` (dots as `_`, dashes as `__`, as Terraform names them)
//! is sent as a bearer token to that host only; it never appears in a message.
//! Discovery uses https, except for a loopback host (127.0.0.1, ::1, localhost), which
//! is asked over plain http so a registry can run next to forge (tests, mirrors).

use forge_config::version_constraint::{Version, VersionConstraint};

use crate::address::RegistrySource;
use crate::http::{self, Token};

/// Registry JSON answers are small; anything larger is not a registry.
const MAX_JSON: usize = 8 << 20;

/// Why a version could not be chosen or its location found.
#[derive(Debug)]
pub enum RegistryError {
    /// The registry could not be reached (a transport failure): the cache may answer.
    Unreachable(String),
    /// The registry answered, and the answer rules the module out.
    Refused(String),
}

impl RegistryError {
    pub fn message(&self) -> &str {
        match self {
            RegistryError::Unreachable(m) | RegistryError::Refused(m) => m,
        }
    }
}

/// One registry host's module service.
pub struct Registry {
    base: String,
    token: Option<Token>,
}

impl Registry {
    /// Asks the host where its module service is.
    pub fn discover(
        module: &RegistrySource,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Registry, RegistryError> {
        let hostname = module
            .host
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(module.host.as_str(), |(name, _)| name);
        let token = env(&token_variable(hostname))
            .filter(|t| !t.is_empty())
            .map(|value| Token {
                host: hostname.to_string(),
                value,
            });
        let scheme = if is_loopback(hostname) {
            "http"
        } else {
            "https"
        };
        let discovery = format!("{scheme}://{}/.well-known/terraform.json", module.host);
        let answer =
            http::get(&discovery, token.as_ref(), MAX_JSON).map_err(RegistryError::Unreachable)?;
        if answer.status != 200 {
            return Err(RegistryError::Refused(format!(
                "{} is not a module registry: {discovery} answered {}",
                module.host, answer.status
            )));
        }
        let services: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|e| {
            RegistryError::Refused(format!(
                "{discovery} is not a service discovery document: {e}"
            ))
        })?;
        let Some(modules) = services.get("modules.v1").and_then(|v| v.as_str()) else {
            return Err(RegistryError::Refused(format!(
                "{} offers no module registry (its {discovery} has no modules.v1)",
                module.host
            )));
        };
        let mut base = http::join_url(&answer.url, modules).map_err(RegistryError::Refused)?;
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Registry { base, token })
    }

    /// The versions the registry lists for the module.
    pub fn versions(&self, module: &RegistrySource) -> Result<Vec<String>, RegistryError> {
        let url = format!("{}{}/versions", self.base, module.module_path());
        let answer =
            http::get(&url, self.token.as_ref(), MAX_JSON).map_err(RegistryError::Unreachable)?;
        match answer.status {
            200 => {}
            404 => {
                return Err(RegistryError::Refused(format!(
                    "the registry {} has no module {}",
                    module.host,
                    module.module_path()
                )));
            }
            401 | 403 => {
                return Err(RegistryError::Refused(format!(
                    "the registry {} refused access to {} ({}); set TF_TOKEN_{} to a token for it",
                    module.host,
                    module.module_path(),
                    answer.status,
                    token_variable_suffix(&module.host)
                )));
            }
            other if other >= 500 => {
                return Err(RegistryError::Unreachable(format!(
                    "{url} answered {other}"
                )));
            }
            other => {
                return Err(RegistryError::Refused(format!("{url} answered {other}")));
            }
        }
        let list: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|e| RegistryError::Refused(format!("{url} is not a versions list: {e}")))?;
        let versions = list
            .get("modules")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("versions").and_then(|v| v.as_array()))
            .flatten()
            .filter_map(|v| v.get("version").and_then(|v| v.as_str()))
            .map(str::to_string)
            .collect();
        Ok(versions)
    }

    /// The source holding the module's `version`, as the download endpoint names it
    /// (relative locations read against the endpoint's URL, as Terraform reads them).
    pub fn location(
        &self,
        module: &RegistrySource,
        version: &str,
    ) -> Result<String, RegistryError> {
        let url = format!("{}{}/{version}/download", self.base, module.module_path());
        let answer =
            http::get(&url, self.token.as_ref(), MAX_JSON).map_err(RegistryError::Unreachable)?;
        if answer.status >= 500 {
            return Err(RegistryError::Unreachable(format!(
                "{url} answered {}",
                answer.status
            )));
        }
        if !(200..300).contains(&answer.status) {
            return Err(RegistryError::Refused(format!(
                "the registry {} has no version {version} of {} ({url} answered {})",
                module.host,
                module.module_path(),
                answer.status
            )));
        }
        let location = match answer.terraform_get {
            Some(header) => header,
            None => serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v.get("location").and_then(|l| l.as_str()).map(str::to_string))
                .ok_or_else(|| {
                    RegistryError::Refused(format!(
                        "{url} names no module location (no X-Terraform-Get header, no JSON location)"
                    ))
                })?,
        };
        if location.starts_with('/') || location.starts_with("./") || location.starts_with("../") {
            return http::join_url(&answer.url, &location).map_err(RegistryError::Refused);
        }
        Ok(location)
    }
}

/// The newest version `constraint` allows (any release without one; prereleases only
/// when the constraint names them), as Terraform chooses.
pub fn choose(versions: &[String], constraint: Option<&VersionConstraint>) -> Option<String> {
    versions
        .iter()
        .filter_map(|text| Version::parse(text).ok().map(|v| (v, text)))
        .filter(|(v, _)| match constraint {
            Some(c) => c.allows(v),
            None => !v.to_string().contains('-'),
        })
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, text)| text.clone())
}

/// The one version a constraint names exactly (`1.2.3`, `= 1.2.3`, `v1.2.3`), which the
/// cache can answer without asking the registry.
pub fn exact_version(constraint: &str) -> Option<String> {
    let text = constraint.trim();
    let text = text.strip_prefix('=').unwrap_or(text).trim();
    let version = Version::parse(text).ok()?;
    // Three numbers given: "1.2" as a constraint means 1.2.0 only too, but the registry
    // lists full versions, so keep the text as the registry spells it.
    (text.split('.').count() == 3 && !text.contains(',')).then(|| version.to_string())
}

/// `TF_TOKEN_app_terraform_io` for `app.terraform.io`: dots become `_`, dashes `__`.
pub fn token_variable(hostname: &str) -> String {
    format!("TF_TOKEN_{}", token_variable_suffix(hostname))
}

fn token_variable_suffix(host: &str) -> String {
    let hostname = host.split(':').next().unwrap_or(host);
    hostname.replace('-', "__").replace('.', "_")
}

fn is_loopback(hostname: &str) -> bool {
    hostname == "localhost"
        || hostname == "[::1]"
        || hostname
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(versions: &[&str]) -> Vec<String> {
        versions.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn the_newest_version_the_constraint_allows_is_chosen() {
        let versions = list(&["1.0.0", "1.2.0", "1.10.1", "2.0.0", "2.1.0-beta1", "0.9.0"]);
        let pick = |c: Option<&str>| {
            let c = c.map(|c| VersionConstraint::parse(c).expect("constraint"));
            choose(&versions, c.as_ref())
        };
        assert_eq!(pick(None).as_deref(), Some("2.0.0"));
        assert_eq!(pick(Some("~> 1.2")).as_deref(), Some("1.10.1"));
        assert_eq!(pick(Some("~> 1.2.0")).as_deref(), Some("1.2.0"));
        assert_eq!(pick(Some(">= 1.0, < 1.5")).as_deref(), Some("1.2.0"));
        assert_eq!(pick(Some("> 2.0.0")), None, "a prerelease only when named");
        assert_eq!(pick(Some("2.1.0-beta1")).as_deref(), Some("2.1.0-beta1"));
        assert_eq!(pick(Some("3.0.0")), None);
    }

    #[test]
    fn only_a_full_exact_version_is_answered_without_the_registry() {
        assert_eq!(exact_version("1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(exact_version("= 1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(exact_version("~> 1.2.3"), None);
        assert_eq!(exact_version(">= 1.2.3"), None);
        assert_eq!(exact_version("1.2"), None);
    }

    #[test]
    fn token_variables_are_named_as_terraform_names_them() {
        assert_eq!(
            token_variable("app.terraform.io"),
            "TF_TOKEN_app_terraform_io"
        );
        assert_eq!(
            token_variable("my-registry.example.com"),
            "TF_TOKEN_my__registry_example_com"
        );
        assert!(
            is_loopback("127.0.0.1") && is_loopback("localhost") && !is_loopback("example.com")
        );
    }
}
