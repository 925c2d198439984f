//! The identity a whole unit runs as: Terragrunt's `iam_role`,
//! `iam_assume_role_session_name`, `iam_assume_role_duration` and
//! `iam_web_identity_token`. Terragrunt assumes the role before it runs Terraform and hands
//! the role's credentials to it in the environment, so both the unit's providers and its
//! state backend start from them; forge passes the role to the provider factories
//! ([`crate::ProviderFactory::configure_as`]) and the backend factories
//! ([`crate::BackendFactory::open_as`]) instead of changing the process environment, which
//! units running at the same time share.

use std::path::PathBuf;
use std::time::Duration;

/// The role a unit's providers and state backend assume before anything else.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnitRole {
    pub role_arn: String,
    /// `iam_assume_role_session_name`; a generated one when absent.
    pub session_name: Option<String>,
    /// `iam_assume_role_duration`; STS's default (one hour) when absent.
    pub duration: Option<Duration>,
    /// `iam_web_identity_token`: assume the role with AssumeRoleWithWebIdentity.
    pub web_identity_token: Option<UnitRoleToken>,
}

/// Terragrunt takes either the token itself or the path of a file holding it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum UnitRoleToken {
    Inline(String),
    /// Read each time the role is assumed: such files are rotated.
    File(PathBuf),
}

/// The token is a credential: never printed, not even in debug output.
impl std::fmt::Debug for UnitRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitRole")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("duration", &self.duration)
            .field(
                "web_identity_token",
                &self.web_identity_token.as_ref().map(|t| match t {
                    UnitRoleToken::Inline(_) => "(inline, hidden)".to_string(),
                    UnitRoleToken::File(p) => p.display().to_string(),
                }),
            )
            .finish()
    }
}
