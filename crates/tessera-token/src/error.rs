//! Errors of key handling, signing and verification.

/// A key could not be generated, parsed or exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key material is not a valid key for the algorithm.
    #[error("invalid {alg} key: {reason}")]
    Invalid {
        /// The algorithm the key was read for.
        alg: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// RSA keys shorter than 2048 bits are refused.
    #[error("RSA key of {bits} bits refused: at least 2048 bits are required")]
    TooShort {
        /// The key's modulus length.
        bits: usize,
    },
    /// The crypto library failed to generate a key.
    #[error("key generation failed")]
    Generation,
}

/// A token could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The JOSE library refused the key or claims.
    #[error("signing failed: {0}")]
    Jose(#[from] jsonwebtoken::errors::Error),
    /// The crypto library failed to sign.
    #[error("signing failed")]
    Crypto,
    /// The claims could not be serialised.
    #[error("claims could not be serialised: {0}")]
    Claims(#[from] serde_json::Error),
}

/// Why a token was refused. Callers may branch on it; the HTTP layer answers every variant
/// the same way so that an attacker learns nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a compact JWS (three base64url parts), bad base64 or bad JSON.
    #[error("malformed token")]
    Malformed,
    /// The header has `crit` (RFC 7515 §4.1.11): this verifier understands no extension,
    /// so a token that says one must be understood is refused (an empty list, or one
    /// naming registered parameters, is malformed anyway).
    #[error("critical header extension not understood")]
    CriticalExtension,
    /// `exp` is further from `iat` than any token the authority issues lives, or not a
    /// time in seconds (milliseconds): a token that could not have been issued.
    #[error("lifetime longer than any issued token's")]
    ImplausibleLifetime,
    /// Longer than the configured maximum; refused before any parsing.
    #[error("token too large")]
    TooLarge,
    /// The header names no key, or a key this verifier does not know.
    #[error("unknown signing key")]
    UnknownKey,
    /// The header's `alg` is not the algorithm of the key it names (this covers `none`
    /// and HMAC-with-the-public-key forgeries).
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain the expected audience.
    #[error("wrong audience")]
    WrongAudience,
    /// The token is of the wrong kind (a refresh token used as an access token, or the reverse).
    #[error("wrong token type")]
    WrongType,
    /// A required claim is missing or has the wrong type.
    #[error("missing or invalid claim {0}")]
    InvalidClaim(&'static str),
    /// The verifier has no keys it may trust (a JWKS that could not be fetched for too
    /// long): nothing is accepted.
    #[error("signing keys unavailable")]
    KeysUnavailable,
    /// The authority, asked (introspection), says the token is not active: revoked,
    /// expired, its user disabled, or never valid.
    #[error("token not active")]
    Inactive,
    /// The authority could not be asked (remote verification).
    #[error("authority unavailable")]
    AuthorityUnavailable,
    /// A token meant to be used once (a logout token) was presented again.
    #[error("token replayed")]
    Replayed,
}

/// The system random number generator failed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;
