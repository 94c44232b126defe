//! The Tessera token authority as a library.
//!
//! [`startup::Application`] builds the whole server from [`config::Settings`]; the
//! `tessera` binary and the tests both start it this way (tests on port 0).
//!
//! # Layout
//! - [`config`]: the typed configuration tree and its layers (defaults → `tessera.toml` →
//!   `TESSERA_*` → flags).
//! - [`startup`]: `Application::build` → `port()` → `run_until_stopped()`.
//! - [`state`]: [`state::AppState`], everything a request needs.
//! - [`error`]: [`error::ApiError`] and its exhaustive mapping to HTTP responses.
//! - [`domain`]: validated newtypes (usernames, e-mails, passwords).
//! - [`service`]: the use cases (log in, issue, refresh, verify, revoke, manage users).
//! - [`store`]: the storage trait and its SQLite backend.
//! - [`keys`]: the master key, sealing, and the keyring of signing keys.
//! - [`http`]: one module per resource, merged into one router.

pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;

pub use config::Settings;
pub use startup::Application;
