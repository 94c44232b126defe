//! The Tessera token authority as a library.
//!
//! [`startup::Application`] builds the whole server from [`config::Settings`]; the
//! `tessera` binary and the tests both start it this way (tests on port 0).
//!
//! # Layout
//! - [`config`]: the typed configuration tree and its layers (defaults → `tessera.toml` →
//!   `TESSERA_*` → flags), one file per group of sections, their checks in `validate`.
//! - [`startup`]: `Application::build` → `port()` → `run_until_stopped()`, and the
//!   background tasks (key schedule, pruning, back-channel logout delivery).
//! - [`state`]: [`state::AppState`], everything a request needs.
//! - [`error`]: [`error::ApiError`] and its exhaustive mapping to HTTP responses.
//! - [`domain`]: validated newtypes and rules without I/O (usernames, e-mails, passwords,
//!   client registrations).
//! - [`service`]: the use cases (log in, issue, refresh, verify, revoke, manage users and
//!   clients, SSO, logout, request objects, throttling, audit, mail).
//! - [`store`]: the storage trait; one SQL implementation (`store/sql/`, generic over a
//!   `Dialect`, one file per concept) for SQLite (one machine) and PostgreSQL (many
//!   replicas); SQLite's read cache and group commit.
//! - [`keys`]: the master key, sealing, the keyring of signing keys and its schedule,
//!   Vault/OpenBao backends.
//! - [`metrics`]: the Prometheus registry.
//! - [`http`]: one module per resource (the admin API a folder of its own), merged into one
//!   router; handlers extract, call one service function, and map its answer.

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
