//! The switch between a product build and a test build of the binary.
//!
//! The in-memory fake provider ([`crate::fake`]) exists only with the cargo feature
//! `test-support`, which `cargo test` turns on (the crates that test with it name it in their
//! dev-dependencies) and a plain `cargo build` does not. This module is always there, so the
//! binary can ask for the fake world the same way in both builds: a test build persists it
//! in the file `FORGE_FAKE_CLOUD` names; a product build refuses the variable rather than
//! ignore it, since ignoring it would send the run to the real cloud.

use std::sync::Arc;

use crate::provider::ProviderFactory;

/// The variable naming the fake world's file (CLI tests of the binary).
pub const FAKE_CLOUD_VAR: &str = "FORGE_FAKE_CLOUD";

/// True in builds with the `test-support` feature (the fake provider and test hooks).
pub const ENABLED: bool = cfg!(feature = "test-support");

/// The fake world of one process run: its provider factory, and the file it is saved to.
pub struct FakeWorld {
    factory: Arc<dyn ProviderFactory>,
    #[cfg(feature = "test-support")]
    cloud: Arc<crate::fake::FakeCloud>,
    #[cfg(feature = "test-support")]
    path: std::path::PathBuf,
    /// A product build has no fake world: the type cannot be built there.
    #[cfg(not(feature = "test-support"))]
    _never: std::convert::Infallible,
}

impl FakeWorld {
    /// The factory for `provider "fake"` blocks on this world.
    pub fn factory(&self) -> Arc<dyn ProviderFactory> {
        self.factory.clone()
    }

    /// Writes the world back to its file, for the next run of the binary to load.
    pub fn save(&self) -> Result<(), String> {
        #[cfg(feature = "test-support")]
        {
            self.cloud.save(&self.path)
        }
        #[cfg(not(feature = "test-support"))]
        {
            let never: std::convert::Infallible = self._never;
            match never {}
        }
    }
}

/// The fake world `FORGE_FAKE_CLOUD` names, if it is set: loaded (a missing file is an empty
/// world) in a test build, refused with an explanation in a product build.
pub fn fake_world_from_env() -> Result<Option<FakeWorld>, String> {
    let Some(path) = std::env::var_os(FAKE_CLOUD_VAR) else {
        return Ok(None);
    };
    load(std::path::PathBuf::from(path)).map(Some)
}

#[cfg(feature = "test-support")]
fn load(path: std::path::PathBuf) -> Result<FakeWorld, String> {
    let cloud = crate::fake::FakeCloud::load(&path)?;
    Ok(FakeWorld {
        factory: crate::fake::FakeProviderFactory::new(cloud.clone()),
        cloud,
        path,
    })
}

#[cfg(not(feature = "test-support"))]
fn load(path: std::path::PathBuf) -> Result<FakeWorld, String> {
    Err(format!(
        "{FAKE_CLOUD_VAR} is set ({}), but this forge was built without its test support \
         (cargo feature `test-support`), so it has no fake provider; unset {FAKE_CLOUD_VAR} \
         to run against the real providers",
        path.display()
    ))
}
