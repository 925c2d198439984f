//! The one integration-test binary (each test binary links the AWS SDK, so there is one).
//! Modules under `emulator/` run against the local emulators started by `scripts/test`;
//! they fail, never skip, when the emulators are down.

mod emulator;

mod cli;
