//! The internal HS256 key that MACs refresh tokens.
//!
//! Only Tessera ever checks a refresh token, so an HMAC is enough to prove origin and saves
//! one RSA signature per refresh (Keycloak does the same). The key is never published.

use crate::claims::random_hex;
use crate::error::{KeyError, RandomError};
use jsonwebtoken::{DecodingKey, EncodingKey};
use std::fmt;
use zeroize::Zeroizing;

/// Length of a MAC key id: a multiple of three, like [`crate::jwks::KID_LEN`].
pub const MAC_KID_LEN: usize = 12;

/// An HMAC-SHA-256 key for refresh tokens.
///
/// # Security
/// `Debug` never prints the secret; the bytes are zeroed on drop.
pub struct MacKey {
    kid: String,
    secret: Zeroizing<Vec<u8>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey")
            .field("kid", &self.kid)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl MacKey {
    /// Generates a new 256-bit key with a random id.
    ///
    /// # Errors
    /// [`RandomError`] if the system random generator fails.
    pub fn generate() -> Result<Self, RandomError> {
        let mut secret = Zeroizing::new(vec![0u8; 32]);
        aws_lc_rs::rand::fill(&mut secret).map_err(|_| RandomError)?;
        let kid = random_hex::<{ MAC_KID_LEN / 2 }>()?;
        Ok(Self::assemble(kid, secret))
    }

    /// Rebuilds a stored key.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] if the secret is shorter than 32 bytes or the id is not
    /// [`MAC_KID_LEN`] long.
    pub fn from_bytes(kid: &str, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 32 || kid.len() != MAC_KID_LEN {
            return Err(KeyError::Invalid {
                alg: "HS256",
                reason: "secret or key id of the wrong length".into(),
            });
        }
        Ok(Self::assemble(
            kid.to_owned(),
            Zeroizing::new(secret.to_vec()),
        ))
    }

    fn assemble(kid: String, secret: Zeroizing<Vec<u8>>) -> Self {
        let encoding = EncodingKey::from_secret(&secret);
        let decoding = DecodingKey::from_secret(&secret);
        Self {
            kid,
            secret,
            encoding,
            decoding,
        }
    }

    /// The key id (internal; written in refresh token headers).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The secret bytes.
    ///
    /// # Security
    /// Seal them before storing.
    pub fn expose_secret(&self) -> &[u8] {
        &self.secret
    }

    /// An HMAC-SHA-256 tag of `message` for `purpose` (domain separation: a tag made for
    /// one purpose never verifies for another, nor as a refresh token's MAC).
    pub fn tag(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.secret);
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
        ctx.update(b"tessera-tag\0");
        ctx.update(purpose.as_bytes());
        ctx.update(b"\0");
        ctx.update(message);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Whether `tag` is [`Self::tag`] of `message` for `purpose` (constant time).
    pub fn verify_tag(&self, purpose: &str, message: &[u8], tag: &[u8]) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.tag(purpose, message), tag).is_ok()
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }
}
