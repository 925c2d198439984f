//! DynamoDB, used by forge for state locks: the calls on the lock table Terraform's S3
//! backend uses (items keyed by the string attribute `LockID`).

pub mod lock_table;

pub use lock_table::LockTable;
