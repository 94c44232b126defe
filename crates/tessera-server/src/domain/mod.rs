//! Validated domain values: a value of these types has passed its checks.

pub mod authn;
pub mod client;
pub mod digest;
pub mod scope;
pub mod time;
pub mod user;

pub use client::{ClientError, GrantType};
pub use scope::Scope;
pub use user::{Email, UserError, Username};
