//! Use cases. Handlers call exactly one function here; these functions hold the rules,
//! and talk to the store and the keyring.

pub mod account;
pub mod audience;
pub mod audit;
pub mod authn;
pub mod client;
pub mod key_schedule;
pub mod links;
pub mod login;
pub mod mail;
pub mod oauth;
pub mod outbound;
pub mod password;
pub mod published_keys;
pub mod security;
pub mod sso;
pub mod throttle;
pub mod token;
pub mod user;
