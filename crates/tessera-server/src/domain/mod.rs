//! Validated domain values: a value of these types has passed its checks.

pub mod user;

pub use user::{Email, UserError, Username};
