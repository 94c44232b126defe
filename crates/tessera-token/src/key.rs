//! Private signing keys: generation, PKCS#8 import and export, and the public half.

use crate::algorithm::Algorithm;
use crate::error::KeyError;
use crate::jwks::PublicKey;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair,
    RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType,
    OctetKeyPairParameters, OctetKeyPairType, RSAKeyParameters, RSAKeyType,
};
use std::fmt;
use zeroize::Zeroizing;

/// The smallest RSA modulus Tessera accepts, in bits (defined with the algorithms, which
/// both keys and published keys depend on).
pub use crate::algorithm::MIN_RSA_BITS;

/// RSA modulus sizes Tessera generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RsaBits {
    /// 2048 bits (the default).
    #[default]
    B2048,
    /// 3072 bits.
    B3072,
    /// 4096 bits.
    B4096,
}

/// A private key that signs access (and later ID) tokens.
///
/// # Security
/// `Debug` never prints the key; the PKCS#8 bytes are zeroed on drop.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pkcs8: Zeroizing<Vec<u8>>,
    signer: Signer,
    public: PublicKey,
}

/// The parsed private key, kept so that a signature does not re-parse it (re-parsing an
/// RSA key costs as much as the signature itself).
enum Signer {
    Rsa(RsaKeyPair, &'static dyn aws_lc_rs::signature::RsaEncoding),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// Generates a new key for `alg` (RSA keys with 2048 bits).
    ///
    /// # Errors
    /// [`KeyError::Generation`] if the crypto library fails.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        Self::generate_with(alg, RsaBits::default())
    }

    /// Generates a new key for `alg`, RSA keys with `bits` bits.
    ///
    /// # Errors
    /// [`KeyError::Generation`] if the crypto library fails.
    pub fn generate_with(alg: Algorithm, bits: RsaBits) -> Result<Self, KeyError> {
        let der = generate_pkcs8(alg, bits)?;
        Self::from_pkcs8_der(alg, &der)
    }

    /// Reads a PKCS#8 DER private key; the `kid` is derived from the public key's RFC 7638
    /// thumbprint.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] if the bytes are not a key of `alg`, [`KeyError::TooShort`] for
    /// RSA keys under 2048 bits.
    pub fn from_pkcs8_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let params = public_params(alg, der)?;
        let kid = PublicKey::derive_kid(alg, &params);
        Self::assemble(alg, der, kid, params)
    }

    /// Reads a PKCS#8 DER private key stored earlier under `kid`.
    ///
    /// # Errors
    /// As [`SigningKey::from_pkcs8_der`].
    pub fn from_pkcs8_der_with_kid(
        alg: Algorithm,
        der: &[u8],
        kid: &str,
    ) -> Result<Self, KeyError> {
        let params = public_params(alg, der)?;
        Self::assemble(alg, der, kid.to_owned(), params)
    }

    /// Reads a PEM private key (`BEGIN PRIVATE KEY`, PKCS#8).
    ///
    /// # Errors
    /// [`KeyError::Invalid`] if the PEM cannot be read; otherwise as [`SigningKey::from_pkcs8_der`].
    pub fn from_pkcs8_pem(alg: Algorithm, pem_text: &str) -> Result<Self, KeyError> {
        let parsed = pem::parse(pem_text).map_err(|e| invalid(alg, e))?;
        if parsed.tag() != "PRIVATE KEY" {
            return Err(invalid(
                alg,
                format!(
                    "expected a PKCS#8 \"PRIVATE KEY\", found \"{}\"",
                    parsed.tag()
                ),
            ));
        }
        Self::from_pkcs8_der(alg, parsed.contents())
    }

    /// Reads a PEM private key as `openssl` writes them: PKCS#8 (`PRIVATE KEY`) for every
    /// algorithm, or PKCS#1 (`RSA PRIVATE KEY`, `openssl genrsa` before OpenSSL 3) for
    /// RS256/PS256, converted to PKCS#8. RSA keys below 2048 bits are refused.
    ///
    /// # Errors
    /// [`KeyError`] for another PEM type, a key of another algorithm, or a short key.
    pub fn from_pem(alg: Algorithm, pem_text: &str) -> Result<Self, KeyError> {
        let parsed = pem::parse(pem_text).map_err(|e| invalid(alg, e))?;
        match (parsed.tag(), alg) {
            ("PRIVATE KEY", _) => Self::from_pkcs8_der(alg, parsed.contents()),
            ("RSA PRIVATE KEY", Algorithm::RS256 | Algorithm::PS256) => {
                let pair = aws_lc_rs::rsa::KeyPair::from_der(parsed.contents())
                    .map_err(|e| invalid(alg, e))?;
                let bits = pair.public_modulus_len() * 8;
                if bits < MIN_RSA_BITS {
                    return Err(KeyError::TooShort { bits });
                }
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(|e| invalid(alg, e))?;
                Self::from_pkcs8_der(alg, der.as_ref())
            }
            (tag, _) => Err(invalid(
                alg,
                format!(
                    "expected \"PRIVATE KEY\" (or \"RSA PRIVATE KEY\" for RSA), found \"{tag}\""
                ),
            )),
        }
    }

    fn assemble(
        alg: Algorithm,
        der: &[u8],
        kid: String,
        params: AlgorithmParameters,
    ) -> Result<Self, KeyError> {
        let signer = match alg {
            Algorithm::RS256 => Signer::Rsa(
                RsaKeyPair::from_pkcs8(der).map_err(|e| invalid(alg, e))?,
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            ),
            Algorithm::PS256 => Signer::Rsa(
                RsaKeyPair::from_pkcs8(der).map_err(|e| invalid(alg, e))?,
                &aws_lc_rs::signature::RSA_PSS_SHA256,
            ),
            Algorithm::ES256 => Signer::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| invalid(alg, e))?,
            ),
            Algorithm::EdDSA => Signer::Ed(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| invalid(alg, e))?,
            ),
        };
        let public = PublicKey::from_parts(kid.clone(), alg, params)?;
        Ok(Self {
            kid,
            alg,
            pkcs8: Zeroizing::new(der.to_vec()),
            signer,
            public,
        })
    }

    /// The key id published in the JWKS and put in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public half, as published.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The private key as PKCS#8 DER.
    ///
    /// # Security
    /// Secret material: seal it before it is stored.
    pub fn expose_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The private key as PKCS#8 PEM.
    ///
    /// # Security
    /// Secret material.
    pub fn expose_pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(to_pem(&self.pkcs8))
    }

    /// Signs `message` (the JWS signing input) with the key's algorithm; ECDSA signatures
    /// come in the fixed `r ‖ s` form JWS requires.
    pub(crate) fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, crate::error::SignError> {
        let failed = |_| crate::error::SignError::Crypto;
        match &self.signer {
            Signer::Rsa(pair, encoding) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    *encoding,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .map_err(failed)?;
                Ok(sig)
            }
            Signer::Ec(pair) => Ok(pair
                .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Signer::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

fn to_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()))
}

fn invalid(alg: Algorithm, reason: impl ToString) -> KeyError {
    KeyError::Invalid {
        alg: alg.as_str(),
        reason: reason.to_string(),
    }
}

fn generate_pkcs8(alg: Algorithm, bits: RsaBits) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let bytes = match alg {
        Algorithm::RS256 | Algorithm::PS256 => {
            let size = match bits {
                RsaBits::B2048 => KeySize::Rsa2048,
                RsaBits::B3072 => KeySize::Rsa3072,
                RsaBits::B4096 => KeySize::Rsa4096,
            };
            let pair = aws_lc_rs::rsa::KeyPair::generate(size).map_err(|_| KeyError::Generation)?;
            let der: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| KeyError::Generation)?;
            der.as_ref().to_vec()
        }
        Algorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map_err(|_| KeyError::Generation)?
            .as_ref()
            .to_vec(),
        Algorithm::EdDSA => Ed25519KeyPair::generate()
            .and_then(|k| k.to_pkcs8())
            .map_err(|_| KeyError::Generation)?
            .as_ref()
            .to_vec(),
    };
    Ok(Zeroizing::new(bytes))
}

/// Parses the private key and returns its public JWK parameters.
fn public_params(alg: Algorithm, der: &[u8]) -> Result<AlgorithmParameters, KeyError> {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    match alg {
        Algorithm::RS256 | Algorithm::PS256 => {
            let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| invalid(alg, e))?;
            let bits = pair.public_modulus_len() * 8;
            if bits < MIN_RSA_BITS {
                return Err(KeyError::TooShort { bits });
            }
            let c = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            // 65537 only: small exponents (3) are what the classic RSA signature forgeries
            // against lax verifiers need, and no key generator makes them by default.
            let exponent: &[u8] = {
                let start = c.e.iter().position(|&b| b != 0).unwrap_or(c.e.len());
                &c.e[start..]
            };
            if exponent != [1, 0, 1] {
                return Err(KeyError::Invalid {
                    alg: alg.as_str(),
                    reason: "the RSA public exponent must be 65537".into(),
                });
            }
            Ok(AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: b64(&c.n),
                e: b64(&c.e),
            }))
        }
        Algorithm::ES256 => {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(|e| invalid(alg, e))?;
            let point = pair.public_key().as_ref();
            match point {
                [0x04, rest @ ..] if rest.len() == 64 => Ok(AlgorithmParameters::EllipticCurve(
                    EllipticCurveKeyParameters {
                        key_type: EllipticCurveKeyType::EC,
                        curve: EllipticCurve::P256,
                        x: b64(&rest[..32]),
                        y: b64(&rest[32..]),
                    },
                )),
                _ => Err(invalid(alg, "unexpected public point encoding")),
            }
        }
        Algorithm::EdDSA => {
            let pair =
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| invalid(alg, e))?;
            Ok(AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: b64(pair.public_key().as_ref()),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips_through_pem() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let again = SigningKey::from_pkcs8_pem(alg, &key.expose_pkcs8_pem()).unwrap();
            assert_eq!(key.kid(), again.kid(), "{alg}");
            assert_eq!(key.public_key().jwk(), again.public_key().jwk());
        }
    }

    #[test]
    fn debug_never_prints_the_private_key() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let printed = format!("{key:?}");
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains(&URL_SAFE_NO_PAD.encode(key.expose_pkcs8_der())));
    }

    #[test]
    fn a_key_of_the_wrong_algorithm_is_refused() {
        let ec = SigningKey::generate(Algorithm::ES256).unwrap();
        assert!(SigningKey::from_pkcs8_der(Algorithm::RS256, ec.expose_pkcs8_der()).is_err());
    }
}
