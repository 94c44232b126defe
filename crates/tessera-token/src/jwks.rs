//! Public keys and key sets: what `/.well-known/jwks.json` publishes and what verifiers use.

use crate::algorithm::Algorithm;
use crate::error::KeyError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse, ThumbprintHash,
};
use std::collections::HashMap;
use std::fmt;

/// Length of the key ids Tessera derives. A multiple of three, so that every token header
/// Tessera writes (`{"typ":"at+jwt","alg":"RS256","kid":"…"}`, and the same without `typ`
/// or with `"JWT"`) has a byte length divisible by three: legacy decoders such as
/// drf_remotejwt's base64-decode the header without padding.
pub const KID_LEN: usize = 42;

/// A public verification key with its id and algorithm.
#[derive(Clone)]
pub struct PublicKey {
    kid: String,
    alg: Algorithm,
    jwk: Jwk,
    decoding: DecodingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

impl PublicKey {
    /// Reads a published JWK. It must carry `kid` and an `alg` Tessera supports, with the
    /// key type that algorithm needs; RSA moduli under 2048 bits are refused.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] when a requirement is not met, [`KeyError::TooShort`] for small RSA keys.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let invalid = |reason: &str| KeyError::Invalid {
            alg: "JWK",
            reason: reason.to_owned(),
        };
        let kid = jwk
            .common
            .key_id
            .clone()
            .ok_or_else(|| invalid("missing kid"))?;
        let alg_name = jwk
            .common
            .key_algorithm
            .map(|a| a.to_string())
            .ok_or_else(|| invalid("missing alg"))?;
        let alg: Algorithm = alg_name.parse().map_err(|_| invalid("unsupported alg"))?;
        if let AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
            let n = URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .map_err(|_| invalid("bad modulus"))?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < crate::key::MIN_RSA_BITS {
                return Err(KeyError::TooShort { bits });
            }
        }
        Self::from_parts(kid, alg, jwk.algorithm.clone())
    }

    pub(crate) fn from_parts(
        kid: String,
        alg: Algorithm,
        params: AlgorithmParameters,
    ) -> Result<Self, KeyError> {
        let matches = matches!(
            (alg, &params),
            (
                Algorithm::RS256 | Algorithm::PS256,
                AlgorithmParameters::RSA(_)
            ) | (Algorithm::ES256, AlgorithmParameters::EllipticCurve(_))
                | (Algorithm::EdDSA, AlgorithmParameters::OctetKeyPair(_))
        );
        let curve_ok = match &params {
            AlgorithmParameters::EllipticCurve(ec) => ec.curve == EllipticCurve::P256,
            AlgorithmParameters::OctetKeyPair(okp) => okp.curve == EllipticCurve::Ed25519,
            _ => true,
        };
        if !matches || !curve_ok {
            return Err(KeyError::Invalid {
                alg: alg.as_str(),
                reason: "key type does not match the algorithm".into(),
            });
        }
        let jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(alg.to_key_algorithm()),
                key_id: Some(kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: params,
        };
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::Invalid {
            alg: alg.as_str(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            kid,
            alg,
            jwk,
            decoding,
        })
    }

    /// The key id: the first [`KID_LEN`] characters of the RFC 7638 SHA-256 thumbprint.
    pub(crate) fn derive_kid(alg: Algorithm, params: &AlgorithmParameters) -> String {
        let jwk = Jwk {
            common: CommonParameters {
                key_algorithm: Some(alg.to_key_algorithm()),
                ..CommonParameters::default()
            },
            algorithm: params.clone(),
        };
        jwk.thumbprint(ThumbprintHash::SHA256)
            .chars()
            .take(KID_LEN)
            .collect()
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's algorithm: the only one a token signed by it may claim.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key as a JWK (`kid`, `alg`, `use: "sig"`, public parameters only).
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// The public keys a verifier trusts, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, PublicKey>,
    order: Vec<String>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a JWKS document, skipping keys Tessera cannot use (unknown algorithms,
    /// missing `kid`, short RSA keys, encryption keys).
    ///
    /// # Errors
    /// [`KeyError::Invalid`] if the document is not a JWKS.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, KeyError> {
        let set: JwkSet = serde_json::from_slice(json).map_err(|e| KeyError::Invalid {
            alg: "JWKS",
            reason: e.to_string(),
        })?;
        let mut keys = Self::new();
        for jwk in &set.keys {
            let for_signing = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption));
            if let (true, Ok(key)) = (for_signing, PublicKey::from_jwk(jwk)) {
                keys.insert(key);
            }
        }
        Ok(keys)
    }

    /// Adds (or replaces) a key.
    pub fn insert(&mut self, key: PublicKey) {
        if !self.keys.contains_key(&key.kid) {
            self.order.push(key.kid.clone());
        }
        self.keys.insert(key.kid.clone(), key);
    }

    /// The keys, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.order.iter().filter_map(|kid| self.keys.get(kid))
    }

    /// The key with this id.
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.get(kid)
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The set as a JWKS document, in insertion order.
    pub fn to_jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .order
                .iter()
                .filter_map(|k| self.keys.get(k))
                .map(|k| k.jwk.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SigningKey;

    #[test]
    fn published_keys_never_carry_private_parameters() {
        let mut set = KeySet::new();
        for alg in Algorithm::ALL {
            set.insert(SigningKey::generate(alg).unwrap().public_key().clone());
        }
        let json = serde_json::to_value(set.to_jwks()).unwrap();
        for key in json["keys"].as_array().unwrap() {
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(key.get(private).is_none(), "{private} published in {key}");
            }
            assert_eq!(key["use"], "sig");
            assert_eq!(key["kid"].as_str().unwrap().len(), KID_LEN);
        }
    }

    #[test]
    fn a_jwks_round_trips() {
        let key = SigningKey::generate(Algorithm::RS256).unwrap();
        let mut set = KeySet::new();
        set.insert(key.public_key().clone());
        let json = serde_json::to_vec(&set.to_jwks()).unwrap();
        let again = KeySet::from_jwks_json(&json).unwrap();
        assert_eq!(again.get(key.kid()).unwrap().jwk(), key.public_key().jwk());
    }
}
