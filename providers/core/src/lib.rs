//! forge's provider contract: values with unknown and sensitive marks, resource schemas,
//! and the traits a resource type or data source implements. The engine depends on this
//! crate only; the AWS crates implement it. `fake` is an in-memory provider for engine tests.

pub mod backend;
pub mod fake;
pub mod provider;
pub mod schema;
pub mod value;

pub use backend::{BackendError, BackendFactory, LockInfo, StateBackend, StoredState};
pub use provider::{
    ConfigIssue, DataSourceType, IssueSeverity, PlannedState, Provider, ProviderError,
    ProviderFactory, ProviderResult, ResourceType, plan_from_schema,
};
pub use schema::{AttrType, Attribute, BlockType, Schema};
pub use value::{PathStep, Value};
