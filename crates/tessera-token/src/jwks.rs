//! Public keys and key sets: what `/.well-known/jwks.json` publishes and what verifiers use.

use crate::algorithm::Algorithm;
use crate::error::KeyError;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    /// Parsed once, so verifying an access token does not re-read the key.
    parsed: std::sync::Arc<ParsedPublicKey>,
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
        let kid = jwk.common.key_id.clone().ok_or_else(|| KeyError::Invalid {
            alg: "JWK",
            reason: "missing kid".into(),
        })?;
        let alg = jwk_alg(jwk)?.ok_or_else(|| KeyError::Invalid {
            alg: "JWK",
            reason: "missing alg".into(),
        })?;
        Self::checked(kid, alg, jwk)
    }

    /// Reads a key an OAuth client registered (its `jwks` or the document at its
    /// `jwks_uri`), where `kid` and `alg` are optional: a key without `kid` gets its RFC
    /// 7638 thumbprint's, one without `alg` gets `default_alg` (the client's registered
    /// algorithm) when its type fits it, else the one its type allows (ES256 for P-256, EdDSA for Ed25519, RS256
    /// for RSA: an RSA key meant for PS256 must say so).
    ///
    /// # Errors
    /// As [`PublicKey::from_jwk`].
    pub fn from_client_jwk(jwk: &Jwk, default_alg: Option<Algorithm>) -> Result<Self, KeyError> {
        let fits = |alg: &Algorithm| {
            matches!(
                (alg, &jwk.algorithm),
                (
                    Algorithm::RS256 | Algorithm::PS256,
                    AlgorithmParameters::RSA(_)
                ) | (Algorithm::ES256, AlgorithmParameters::EllipticCurve(_))
                    | (Algorithm::EdDSA, AlgorithmParameters::OctetKeyPair(_))
            )
        };
        let alg = match (jwk_alg(jwk)?, default_alg.filter(fits), &jwk.algorithm) {
            (Some(alg), _, _) | (None, Some(alg), _) => alg,
            (None, None, AlgorithmParameters::EllipticCurve(_)) => Algorithm::ES256,
            (None, None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
            (None, None, _) => Algorithm::RS256,
        };
        let kid = match &jwk.common.key_id {
            Some(kid) => kid.clone(),
            None => Self::derive_kid(alg, &jwk.algorithm),
        };
        Self::checked(kid, alg, jwk)
    }

    /// The key of `jwk` for `alg` under `kid`, RSA moduli under 2048 bits refused.
    fn checked(kid: String, alg: Algorithm, jwk: &Jwk) -> Result<Self, KeyError> {
        let invalid = |reason: &str| KeyError::Invalid {
            alg: "JWK",
            reason: reason.to_owned(),
        };
        if let AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
            let n = URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .map_err(|_| invalid("bad modulus"))?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < crate::algorithm::MIN_RSA_BITS {
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
        let parsed = std::sync::Arc::new(parse_public(alg, &jwk.algorithm)?);
        Ok(Self {
            kid,
            alg,
            jwk,
            parsed,
        })
    }

    /// A public key held elsewhere (a Vault transit key), from its SubjectPublicKeyInfo DER
    /// (RSA, P-256) or, for EdDSA, the raw 32-byte Ed25519 key. The kid is derived as for
    /// every other key.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] when the key is not of `alg`'s type, [`KeyError::TooShort`]
    /// for RSA under 2048 bits.
    pub fn from_public_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let params = public_der_params(alg, der)?;
        let kid = Self::derive_kid(alg, &params);
        Self::from_parts(kid, alg, params)
    }

    /// A public key from PEM as `openssl pkey -pubout` writes it (`PUBLIC KEY`,
    /// SubjectPublicKeyInfo), for example the public half of a retired simplejwt RS256 key.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] for another PEM type or a key of another algorithm,
    /// [`KeyError::TooShort`] for RSA under 2048 bits.
    pub fn from_public_pem(alg: Algorithm, pem_text: &str) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            alg: alg.as_str(),
            reason,
        };
        let parsed = pem::parse(pem_text).map_err(|e| invalid(e.to_string()))?;
        if parsed.tag() != "PUBLIC KEY" {
            return Err(invalid(format!(
                "expected \"PUBLIC KEY\", found \"{}\"",
                parsed.tag()
            )));
        }
        let der = parsed.contents();
        match alg {
            // Ed25519's SubjectPublicKeyInfo is a fixed 12-byte prefix and the raw key.
            Algorithm::EdDSA => Self::from_public_der(alg, der.get(12..).unwrap_or_default()),
            _ => Self::from_public_der(alg, der),
        }
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

    /// Whether `signature` is this key's signature of `message` (for signatures made
    /// elsewhere, such as by Vault's transit engine, before they are handed out).
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(message, signature).is_ok()
    }

    /// The key parsed by aws-lc-rs for this key's algorithm only.
    pub(crate) fn parsed(&self) -> &ParsedPublicKey {
        &self.parsed
    }
}

/// The JWK's `alg`, if it names one, parsed: one Tessera does not support is an error.
fn jwk_alg(jwk: &Jwk) -> Result<Option<Algorithm>, KeyError> {
    jwk.common
        .key_algorithm
        .map(|a| {
            a.to_string().parse().map_err(|_| KeyError::Invalid {
                alg: "JWK",
                reason: "unsupported alg".into(),
            })
        })
        .transpose()
}

/// DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1), before the
/// uncompressed point `04 || x || y`.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

fn public_der_params(alg: Algorithm, der: &[u8]) -> Result<AlgorithmParameters, KeyError> {
    let invalid = |reason: &str| KeyError::Invalid {
        alg: alg.as_str(),
        reason: reason.to_owned(),
    };
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    match alg {
        Algorithm::RS256 | Algorithm::PS256 => {
            let key =
                aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|e| invalid(&e.to_string()))?;
            let c = RsaPublicKeyComponents::<Vec<u8>>::from(&key);
            let bits = c.n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < crate::algorithm::MIN_RSA_BITS {
                return Err(KeyError::TooShort { bits });
            }
            Ok(AlgorithmParameters::RSA(
                jsonwebtoken::jwk::RSAKeyParameters {
                    key_type: jsonwebtoken::jwk::RSAKeyType::RSA,
                    n: b64(&c.n),
                    e: b64(&c.e),
                },
            ))
        }
        Algorithm::ES256 => match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            Some([0x04, point @ ..]) if point.len() == 64 => Ok(
                AlgorithmParameters::EllipticCurve(jsonwebtoken::jwk::EllipticCurveKeyParameters {
                    key_type: jsonwebtoken::jwk::EllipticCurveKeyType::EC,
                    curve: EllipticCurve::P256,
                    x: b64(&point[..32]),
                    y: b64(&point[32..]),
                }),
            ),
            _ => Err(invalid("not a P-256 public key")),
        },
        Algorithm::EdDSA => {
            let raw = der.strip_prefix(&ED25519_SPKI_PREFIX[..]).unwrap_or(der);
            if raw.len() != 32 {
                return Err(invalid("not an Ed25519 public key"));
            }
            Ok(AlgorithmParameters::OctetKeyPair(
                jsonwebtoken::jwk::OctetKeyPairParameters {
                    key_type: jsonwebtoken::jwk::OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: b64(raw),
                },
            ))
        }
    }
}

/// aws-lc-rs's parsed form of a public JWK, bound to `alg`'s verification algorithm.
fn parse_public(alg: Algorithm, params: &AlgorithmParameters) -> Result<ParsedPublicKey, KeyError> {
    let invalid = |reason: &str| KeyError::Invalid {
        alg: alg.as_str(),
        reason: reason.to_owned(),
    };
    let b64 = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| invalid("bad base64url"))
    };
    let parsed = match (alg, params) {
        (Algorithm::RS256 | Algorithm::PS256, AlgorithmParameters::RSA(rsa)) => {
            let n = b64(&rsa.n)?;
            let e = b64(&rsa.e)?;
            if !plausible_rsa(&n, &e) {
                return Err(invalid(
                    "RSA modulus and exponent must be odd, the exponent 3 or more",
                ));
            }
            let params = if alg == Algorithm::RS256 {
                &RSA_PKCS1_2048_8192_SHA256
            } else {
                &RSA_PSS_2048_8192_SHA256
            };
            RsaPublicKeyComponents { n: &n, e: &e }.to_parsed_public_key(params)
        }
        (Algorithm::ES256, AlgorithmParameters::EllipticCurve(ec)) => {
            let mut point = vec![0x04];
            point.extend(b64(&ec.x)?);
            point.extend(b64(&ec.y)?);
            ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        }
        (Algorithm::EdDSA, AlgorithmParameters::OctetKeyPair(okp)) => {
            let x = b64(&okp.x)?;
            let point = curve25519_dalek::edwards::CompressedEdwardsY::from_slice(&x)
                .ok()
                .and_then(|p| p.decompress())
                .ok_or_else(|| invalid("not a point of Ed25519"))?;
            // A small-order key "verifies" signatures nobody made with it.
            if point.is_small_order() {
                return Err(invalid("small-order Ed25519 key"));
            }
            ParsedPublicKey::new(&ED25519, x)
        }
        _ => return Err(invalid("key type does not match the algorithm")),
    };
    parsed.map_err(|e| invalid(&e.to_string()))
}

/// Whether an RSA modulus and public exponent (big-endian) could be a real key's: the
/// exponent odd and at least 3 (e = 1 makes every signature its own message), the modulus
/// divisible by no prime under 1000 (one with a small factor is factored at once, and
/// anyone could then sign with it). This is a sanity check, not a proof: a modulus that
/// is itself prime is not detected; a client's keys are the client's to make well.
fn plausible_rsa(n: &[u8], e: &[u8]) -> bool {
    let odd = |v: &[u8]| v.last().is_some_and(|b| b & 1 == 1);
    let e_digits: Vec<u8> = e.iter().copied().skip_while(|b| *b == 0).collect();
    let e_ok = odd(e) && (e_digits.len() > 1 || e_digits.first().is_some_and(|b| *b >= 3));
    let remainder = |p: u32| n.iter().fold(0u32, |r, b| (r * 256 + u32::from(*b)) % p);
    let small_factor = (2..1000u32)
        .filter(|p| (2..*p).take_while(|d| d * d <= *p).all(|d| p % d != 0))
        .any(|p| remainder(p) == 0);
    e_ok && !small_factor
}

/// A JWKS document, its keys not yet read.
#[derive(serde::Deserialize)]
struct AnyKeys {
    keys: Vec<serde_json::Value>,
}

/// The signing keys of a JWKS document that `read` accepts, in document order; what is
/// not a JWK, an encryption key, or refused by `read` is skipped.
fn usable_keys(
    json: &[u8],
    read: impl Fn(&Jwk) -> Result<PublicKey, KeyError>,
) -> Result<Vec<PublicKey>, KeyError> {
    let set: AnyKeys = serde_json::from_slice(json).map_err(|e| KeyError::Invalid {
        alg: "JWKS",
        reason: e.to_string(),
    })?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter(|jwk| !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .filter_map(|jwk| read(&jwk).ok())
        .collect())
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

    /// Reads a JWKS document, skipping, key by key, what Tessera cannot use (unknown key
    /// types or curves such as X25519, secp256k1 or post-quantum keys, unknown algorithms,
    /// missing `kid`, short RSA keys, encryption keys): other providers' sets carry such
    /// keys beside their signing keys, and one of them must not hide the rest.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] if the document is not a JWKS (an object with a `keys` array).
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, KeyError> {
        let mut keys = Self::new();
        for key in usable_keys(json, PublicKey::from_jwk)? {
            keys.insert(key);
        }
        Ok(keys)
    }

    /// Reads the JWKS an OAuth client registered for its request objects (OpenID Connect
    /// Registration `jwks`, or the document at its `jwks_uri`): keys as
    /// [`PublicKey::from_client_jwk`] reads them, encryption keys and keys Tessera cannot
    /// use skipped, at least one usable key, no two with one `kid`.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] if the document is not a JWKS, holds no usable signing key, or
    /// two with one `kid`.
    pub fn from_client_jwks(json: &[u8], default_alg: Option<Algorithm>) -> Result<Self, KeyError> {
        let mut keys = Self::new();
        for key in usable_keys(json, |jwk| PublicKey::from_client_jwk(jwk, default_alg))? {
            if keys.get(key.kid()).is_some() {
                return Err(KeyError::Invalid {
                    alg: "JWKS",
                    reason: format!("two keys with kid {:?}", key.kid()),
                });
            }
            keys.insert(key);
        }
        if keys.is_empty() {
            return Err(KeyError::Invalid {
                alg: "JWKS",
                reason: "no usable signing key (RSA of 2048 bits or more, P-256 or Ed25519)".into(),
            });
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

    #[test]
    fn keys_that_cannot_be_used_are_skipped_one_by_one() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let mut set = KeySet::new();
        set.insert(key.public_key().clone());
        let mut jwks = serde_json::to_value(set.to_jwks()).unwrap();
        let foreign = [
            // An encryption key on X25519 (jsonwebtoken knows no such curve).
            serde_json::json!({"kty": "OKP", "crv": "X25519", "use": "enc", "kid": "x",
                               "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}),
            // A secp256k1 signing key (ES256K).
            serde_json::json!({"kty": "EC", "crv": "secp256k1", "alg": "ES256K", "kid": "k",
                               "x": "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis",
                               "y": "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}),
            // A post-quantum key type, and something that is not a key at all.
            serde_json::json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq", "pub": "AAAA"}),
            serde_json::json!("not a key"),
        ];
        jwks["keys"].as_array_mut().unwrap().extend(foreign);
        let set = KeySet::from_jwks_json(&serde_json::to_vec(&jwks).unwrap()).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.get(key.kid()).is_some());
        assert!(KeySet::from_jwks_json(br#"{"nokeys": []}"#).is_err());
    }

    /// Keys that would accept forgeries, or could be nobody's, are refused (attacker
    /// review of the request objects: an Ed25519 identity point let any signature
    /// `R = identity, S = 0` verify): small-order Ed25519 points, RSA with an even
    /// modulus or an exponent of 1, 2 or any even number; and two keys under one kid.
    #[test]
    fn degenerate_keys_and_duplicate_kids_are_refused() {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        for x in [identity, [0u8; 32]] {
            let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "e", "x": b64(&x)});
            let jwk: Jwk = serde_json::from_value(jwk).unwrap();
            assert!(PublicKey::from_client_jwk(&jwk, None).is_err(), "{x:?}");
        }
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
        let good = serde_json::to_value(rsa.public_key().jwk()).unwrap();
        let n = URL_SAFE_NO_PAD.decode(good["n"].as_str().unwrap()).unwrap();
        let mut even_n = n.clone();
        *even_n.last_mut().unwrap() &= 0xfe;
        for (n, e) in [
            (n.clone(), vec![1u8]),
            (n.clone(), vec![2u8]),
            (n.clone(), vec![1u8, 0, 0]),
            (even_n, vec![1u8, 0, 1]),
            // 2^2048 - 1 is odd and divisible by 3 (and 5, 17, 257…).
            (vec![0xffu8; 256], vec![1u8, 0, 1]),
        ] {
            let mut jwk = good.clone();
            jwk["n"] = serde_json::json!(b64(&n));
            jwk["e"] = serde_json::json!(b64(&e));
            let jwk: Jwk = serde_json::from_value(jwk).unwrap();
            assert!(PublicKey::from_jwk(&jwk).is_err(), "e = {e:?}");
        }
        let jwk: Jwk = serde_json::from_value(good.clone()).unwrap();
        assert!(PublicKey::from_jwk(&jwk).is_ok());
        let twice = serde_json::json!({ "keys": [good.clone(), good] });
        assert!(KeySet::from_client_jwks(twice.to_string().as_bytes(), None).is_err());
    }
}

#[cfg(test)]
mod der_tests {
    use super::*;
    use crate::SigningKey;
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    };

    /// The SubjectPublicKeyInfo DER of a signing key, as Vault's transit engine gives it.
    fn spki(key: &SigningKey) -> Vec<u8> {
        let der = key.expose_pkcs8_der();
        let x509: PublicKeyX509Der<'static> = match key.alg() {
            Algorithm::RS256 | Algorithm::PS256 => aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                .unwrap()
                .public_key()
                .as_der()
                .unwrap(),
            Algorithm::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .unwrap()
                .public_key()
                .as_der()
                .unwrap(),
            Algorithm::EdDSA => Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .unwrap()
                .public_key()
                .as_der()
                .unwrap(),
        };
        x509.as_ref().to_vec()
    }

    #[test]
    fn a_public_key_read_from_der_is_the_same_key() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let read = PublicKey::from_public_der(alg, &spki(&key)).unwrap();
            assert_eq!(read.kid(), key.kid(), "{alg}");
            assert_eq!(read.jwk(), key.public_key().jwk(), "{alg}");
        }
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let raw = &spki(&ed)[12..];
        assert_eq!(
            PublicKey::from_public_der(Algorithm::EdDSA, raw)
                .unwrap()
                .kid(),
            ed.kid(),
            "raw Ed25519 key, as transit returns it"
        );
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
        assert!(PublicKey::from_public_der(Algorithm::ES256, &spki(&rsa)).is_err());
    }
}
