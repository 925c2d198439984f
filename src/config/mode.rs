//! Whether a block declares a managed resource (`resource`) or a data source (`data`):
//! part of every resource address, and the key a resource type's schema is looked up by.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Managed,
    Data,
}
