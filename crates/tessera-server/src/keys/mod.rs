//! Keys: the master key that seals private keys at rest, and the keyring of signing keys.

pub mod keyring;
pub mod master;

pub use keyring::{Keyring, KeyringError, LiveKeys, Schedule, stage_key, stage_new_key};
pub use master::{MasterKey, MasterKeyError};
