//! Signing keys at rest: algorithm, lifecycle state, the sealed private key.

use serde::{Deserialize, Serialize};

/// What a stored key is for: signing tokens with a JOSE algorithm, or the internal refresh
/// MAC (`HS256`, never published). Stored and exported under the algorithm's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum KeyAlg {
    /// A signing key of this algorithm.
    Signing(tessera_token::Algorithm),
    /// The refresh-token MAC key.
    Mac,
    /// A name this version does not know (written by hand or by a newer version): the row
    /// still reads, so it can be listed and removed, but the keyring refuses to load it.
    Other(String),
}

impl KeyAlg {
    /// The stored name of the MAC key's algorithm.
    pub const MAC: &'static str = "HS256";

    /// The stored name: `RS256`, `ES256`, …, or `HS256`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Signing(alg) => alg.as_str(),
            Self::Mac => Self::MAC,
            Self::Other(name) => name,
        }
    }

    /// Reads the stored name.
    pub fn parse(s: &str) -> Self {
        if s == Self::MAC {
            Self::Mac
        } else {
            s.parse()
                .map_or_else(|_| Self::Other(s.to_owned()), Self::Signing)
        }
    }
}

impl From<String> for KeyAlg {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl std::fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<KeyAlg> for String {
    fn from(alg: KeyAlg) -> Self {
        match alg {
            KeyAlg::Other(name) => name,
            known => known.as_str().to_owned(),
        }
    }
}

/// Lifecycle state of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signing.
    Active,
    /// Published until its tokens expire.
    Retired,
}

impl KeyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(Self::Next),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// A signing key at rest: the private part sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// Its algorithm, or the internal refresh MAC key's (never published).
    pub alg: KeyAlg,
    /// Lifecycle state.
    pub state: KeyState,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When it started signing.
    pub activated_at: Option<i64>,
    /// When a retired key may leave the JWKS (every token it signed has expired).
    #[serde(default)]
    pub retire_after: Option<i64>,
    /// Nonce ‖ AES-256-GCM ciphertext ‖ tag.
    #[serde(with = "base64_bytes")]
    pub sealed_private: Vec<u8>,
}

pub(super) mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(in crate::store) fn serialize<S: Serializer>(
        bytes: &[u8],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(in crate::store) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}
