//! Keys: the master key that seals private keys at rest, and the keyring of signing keys.

pub mod keyring;
pub mod master;

pub use keyring::{Keyring, KeyringError};
pub use master::{MasterKey, MasterKeyError};
