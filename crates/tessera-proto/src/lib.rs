//! The wire types Tessera's server, client SDK and CLI share.
//!
//! # Layout
//! - [`secret`]: [`Secret`], a string that never prints and compares in constant time.
//! - [`django`]: the djangorestframework-simplejwt compatible API: requests, the token
//!   pair, and the `{"detail", "code"}` error body.
//! - [`oauth`]: the OAuth 2.0 token, introspection and revocation endpoints' types and
//!   the `{"error", "error_description"}` body.
//! - [`user`]: the user object of `/auth/users/{id}/` and its selectable fields.

pub mod django;
pub mod oauth;
pub mod secret;
pub mod user;

pub use django::{ErrorBody, ErrorCode, TokenPair};
pub use oauth::{Introspection, OAuthErrorBody, OAuthErrorCode, TokenResponse};
pub use secret::Secret;
pub use user::{UserField, UserJson};
