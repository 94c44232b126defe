//! The asymmetric signature algorithms Tessera issues tokens with.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A signature algorithm for access and ID tokens.
///
/// HMAC algorithms are deliberately absent: access tokens are always verifiable with a
/// public key, and `none` does not exist here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys by default). The default.
    #[default]
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every algorithm Tessera can sign with.
    pub const ALL: [Algorithm; 4] = [Self::RS256, Self::PS256, Self::ES256, Self::EdDSA];

    /// The JOSE name (`"RS256"` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub(crate) fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::RS256 => jsonwebtoken::Algorithm::RS256,
            Self::PS256 => jsonwebtoken::Algorithm::PS256,
            Self::ES256 => jsonwebtoken::Algorithm::ES256,
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    pub(crate) fn to_key_algorithm(self) -> jsonwebtoken::jwk::KeyAlgorithm {
        use jsonwebtoken::jwk::KeyAlgorithm;
        match self {
            Self::RS256 => KeyAlgorithm::RS256,
            Self::PS256 => KeyAlgorithm::PS256,
            Self::ES256 => KeyAlgorithm::ES256,
            Self::EdDSA => KeyAlgorithm::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The smallest RSA modulus Tessera accepts, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// The name is not one of the algorithms Tessera signs with.
#[derive(Debug, thiserror::Error)]
#[error("unsupported algorithm {0:?}: expected one of RS256, PS256, ES256, EdDSA")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}
