//! Keys: the master key that seals private keys at rest, the keyring of signing keys, and
//! the Vault / OpenBao backends that can hold the signing keys instead.

pub mod keyring;
pub mod master;
pub mod signer;
pub mod vault;
pub mod vault_keys;

pub use keyring::{Keyring, KeyringError, LiveKeys, rewrap, stage_key, stage_new_key};
pub use master::{MasterKey, MasterKeyError};
pub use signer::{Signer, SignerError};
pub use vault_keys::VaultKeys;
