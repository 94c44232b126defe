//! JOSE for Tessera, without I/O.
//!
//! This crate knows how to make, publish and check the tokens Tessera issues. It
//! never touches the network, a database or an async runtime, so the server, the
//! client SDK and the CLI can all share it.
//!
//! # Layout
//! - [`algorithm`]: the asymmetric algorithms Tessera signs with (RS256 default, PS256, ES256, EdDSA).
//! - [`key`]: private signing keys: generate, import/export PKCS#8 PEM, derive the public JWK.
//! - [`jwks`]: public keys and key sets, as published at `/.well-known/jwks.json`.
//! - [`claims`]: the claims of access and refresh tokens.
//! - [`mac`]: the internal HS256 key that MACs refresh tokens (never published).
//! - [`sign`]: compact JWS serialisation of access and refresh tokens.
//! - [`request_object`]: request objects (RFC 9101) verified with a client's registered keys.
//! - [`validate`]: verification with secure defaults (algorithm taken from the key,
//!   `none` and HMAC refused for access tokens, `iss`, `aud`, `exp`, `nbf`, `typ`).
//! - [`clock`]: the injectable [`Clock`].
//! - [`error`]: error types.
//!
//! # Security
//! The header's `alg` is never trusted on its own: a token is checked with the key its
//! `kid` names, and only with that key's own algorithm.

pub mod algorithm;
pub mod claims;
pub mod clock;
pub mod error;
pub mod jwks;
pub mod key;
pub mod mac;
pub mod oidc;
pub mod request_object;
pub mod sign;
pub mod validate;

pub use algorithm::Algorithm;
pub use claims::{AccessClaims, Audience, RefreshClaims, TokenType};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{KeyError, RandomError, SignError, VerifyError};
pub use jwks::{KeySet, PublicKey};
pub use key::SigningKey;
pub use mac::MacKey;
pub use validate::Validation;
