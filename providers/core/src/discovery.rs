//! Finding the objects an environment owns that no state records (`forge drift
//! --unmanaged`): each provider lists, in the accounts and regions its configurations
//! reach, the objects that carry the configuration's default tags or a name prefix, with
//! the id `import` takes. The caller subtracts what the states record.

/// What marks an object as the environment's, besides each configuration's default tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoveryFilter {
    /// Objects whose name starts with this are the environment's (`--name-prefix`).
    pub name_prefix: Option<String>,
}

/// One object found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Discovered {
    /// The resource type that manages it (`aws_sqs_queue`).
    pub type_name: String,
    /// The id `import` takes, which is also the `id` its state records.
    pub id: String,
    /// Its name, for the report and for the suggested resource name.
    pub name: String,
    /// Why it counts as the environment's: `tags Environment=production` or `name prefix`.
    pub marked_by: String,
}
