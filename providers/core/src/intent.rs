//! Creates whose answer never arrived: the part of the provider contract that lets the
//! engine settle them by looking instead of creating twice.
//!
//! Before every create the engine records a [`CreateIntent`] durably (its token and when
//! it started). A run killed while the create was in flight, or an answer lost after AWS
//! acted (the SDK's retry is then refused with "already exists"), leaves an object that
//! state does not know. The engine then asks the type to [`find_created`]: the object a
//! create of the same planned value under the same intent would have made, looked up by
//! the name the planned value gives or by the intent's token. The engine adopts what is
//! found only when it is recognisably that create's object (see [`Found`]); anything else
//! stays an error that names the object and `forge import`.
//!
//! [`find_created`]: crate::ResourceType::find_created

use std::time::{Duration, SystemTime};

use crate::provider::ProviderError;
use crate::value::Value;

/// What a create is about to do, recorded before the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateIntent {
    /// An idempotency token for the create (RunInstances' `ClientToken`): made once per
    /// intent and used again when the create is retried after a crash, so an API that
    /// takes one returns the object already made instead of a second one.
    pub token: String,
    /// When the intent was recorded: an object found by name that is older than this
    /// (less [`CLOCK_MARGIN`]) was not made by this create.
    pub started: SystemTime,
}

/// How much earlier than an intent's start an object may say it was created and still be
/// that create's: AWS reports some creation dates in whole seconds, and this machine's
/// clock may run a little ahead. Kept short, because an object made just before the
/// intent by someone else must not be adopted; a clock further ahead makes the settling
/// fail safe (an error naming the object and `forge import`), never adopt wrongly.
pub const CLOCK_MARGIN: Duration = Duration::from_secs(2);

/// What [`crate::ResourceType::find_created`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    /// No object answers to the intent: it was never made, and may be created now.
    Absent,
    /// An object answers to the intent's name or token.
    Found(Found),
    /// This type cannot look its objects up before they are recorded (a name made up at
    /// create time, no idempotency token): the engine creates again.
    CannotTell,
}

/// An object found for an intent, read as `read` would return it.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub object: Value,
    /// When the service says it was created, when it says so.
    pub created: Option<SystemTime>,
    /// How it was found: by the intent's own token (proof enough), or by its name (the
    /// engine then checks the creation time and the arguments fixed at creation).
    pub by: FoundBy,
    /// What to call it in messages and in `forge import` (a name, an ARN, an id).
    pub id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoundBy {
    Token,
    Name,
}

/// True for the error a create gives when the object it names exists already: the
/// SDK's retry of a create whose answer was lost, or a create of an object forge never
/// recorded (IAM, Secrets Manager, S3, EC2 and SQS spellings).
pub fn is_already_exists(e: &ProviderError) -> bool {
    matches!(
        e.code.as_deref(),
        Some(
            "EntityAlreadyExists"
                | "ResourceExistsException"
                | "BucketAlreadyOwnedByYou"
                | "InvalidGroup.Duplicate"
                | "QueueAlreadyExists"
                | "QueueNameExists"
        )
    )
}

/// A token for a new intent: 38 characters, within every AWS token's limit (EC2's
/// `ClientToken` takes 64 ASCII characters).
pub fn new_token(unique: u128) -> String {
    format!("forge-{unique:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn already_exists_codes_are_recognised_and_others_are_not() {
        assert!(is_already_exists(&ProviderError::with_code(
            "EntityAlreadyExists",
            "x"
        )));
        assert!(is_already_exists(&ProviderError::with_code(
            "InvalidGroup.Duplicate",
            "x"
        )));
        assert!(!is_already_exists(&ProviderError::with_code(
            "BucketAlreadyExists",
            "another account's bucket"
        )));
        assert!(!is_already_exists(&ProviderError::new("no code")));
    }

    #[test]
    fn tokens_fit_ec2s_limit() {
        let t = new_token(u128::MAX);
        assert!(t.len() <= 64 && t.is_ascii(), "{t}");
        assert_ne!(new_token(1), new_token(2));
    }
}
