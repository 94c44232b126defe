//! Use cases. Handlers call exactly one function here; these functions hold the rules,
//! and talk to the store and the keyring.

pub mod login;
pub mod password;
pub mod token;
pub mod user;
