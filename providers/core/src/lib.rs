//! forge's provider contract: values with unknown and sensitive marks, resource schemas,
//! and the traits a resource type or data source implements. The engine depends on this
//! crate only; the AWS crates implement it. `fake` is an in-memory provider for engine tests,
//! compiled only with the cargo feature `test-support` (see [`test_support`]).

pub mod backend;
pub mod discovery;
#[cfg(feature = "test-support")]
pub mod fake;
pub mod intent;
pub mod key_service;
pub mod provider;
pub mod schema;
pub mod test_support;
pub mod unit_role;
pub mod value;

pub use backend::{
    BackendError, BackendFactory, LOCK_PROCESS_MEMBER, LockInfo, LockLease, LockProcess,
    StateBackend, StoredState,
};
pub use discovery::{Discovered, DiscoveryFilter};
pub use intent::{CreateIntent, Finding, Found, FoundBy};
pub use key_service::{DataKey, DataKeyService, KeyServiceFactory, OpenedKeyService};
pub use provider::{
    ConfigIssue, DataSourceType, IssueSeverity, PlannedState, Provider, ProviderError,
    ProviderFactory, ProviderRelease, ProviderResult, ProviderSchemas, ResourceType,
    plan_from_schema,
};
pub use schema::{AttrType, Attribute, BlockType, Schema};
pub use unit_role::{UnitRole, UnitRoleToken};
pub use value::{PathStep, Value};
