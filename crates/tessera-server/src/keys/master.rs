//! The master key: 32 bytes that seal private keys with AES-256-GCM before they are stored.
//!
//! It comes from `master_key` (`TESSERA_MASTER_KEY`) or from `<data_dir>/master.key`,
//! created with mode 0600 on first start. It is never created when sealed keys already
//! exist: a lost master key is a start-up error, not a silent new identity.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use tessera_proto::Secret;
use zeroize::Zeroizing;

/// Standard-alphabet base64 with or without padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// File name of the master key in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The master key could not be obtained or does not open the stored keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// The configured value is not 32 bytes of base64 or hex.
    #[error("the master key must be 32 bytes, base64 or hex encoded ({0})")]
    Malformed(String),
    /// Sealed keys exist but no master key was given or found.
    #[error(
        "the database holds sealed signing keys but no master key was found: set TESSERA_MASTER_KEY or restore {0}; \
         refusing to create a new one, which could not open the existing keys"
    )]
    Missing(PathBuf),
    /// Reading or creating the key file failed.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key does not open a sealed value (wrong or changed master key, or tampering).
    #[error("the master key does not open the stored signing keys (was it lost or changed?)")]
    WrongKey,
    /// The random generator or the cipher failed.
    #[error("sealing failed")]
    Crypto,
}

/// The master key.
///
/// # Security
/// `Debug` prints `[redacted]`; the bytes are zeroed on drop.
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// Finds the master key: the configured value, else the key file; creates the file only
    /// when `sealed_keys_exist` is false.
    ///
    /// # Errors
    /// [`MasterKeyError`].
    pub fn obtain(
        configured: Option<&Secret>,
        data_dir: &Path,
        sealed_keys_exist: bool,
    ) -> Result<Self, MasterKeyError> {
        if let Some(value) = configured {
            return Self::parse(value.expose());
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if sealed_keys_exist {
                    return Err(MasterKeyError::Missing(path));
                }
                Self::create_file(&path)
            }
            Err(source) => Err(MasterKeyError::Io { path, source }),
        }
    }

    /// Parses 32 bytes given as base64 (standard or URL-safe) or 64 hex digits.
    ///
    /// # Errors
    /// [`MasterKeyError::Malformed`].
    pub fn parse(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| MasterKeyError::Malformed(e.to_string()))?
        } else {
            LENIENT_BASE64
                .decode(text.replace('-', "+").replace('_', "/"))
                .map_err(|e| MasterKeyError::Malformed(e.to_string()))?
        };
        let decoded = Zeroizing::new(decoded);
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::Malformed(format!("{} bytes", decoded.len())))?;
        Ok(Self {
            bytes: Zeroizing::new(bytes),
        })
    }

    /// A fresh random key (not written anywhere).
    ///
    /// # Errors
    /// [`MasterKeyError::Crypto`] if the random generator fails.
    pub fn generate() -> Result<Self, MasterKeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(bytes.as_mut()).map_err(|_| MasterKeyError::Crypto)?;
        Ok(Self { bytes })
    }

    /// The key as base64, for `TESSERA_MASTER_KEY`.
    ///
    /// # Security
    /// Secret material.
    pub fn expose_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_ref()))
    }

    /// Generates a key and writes it to a new file at `path` (mode 0600, synced); refuses
    /// to overwrite an existing file.
    ///
    /// # Errors
    /// [`MasterKeyError`].
    pub fn create_new_file(path: &Path) -> Result<Self, MasterKeyError> {
        Self::create_file(path)
    }

    /// Reads a key file (32 bytes, base64 or hex).
    ///
    /// # Errors
    /// [`MasterKeyError`].
    pub fn from_file(path: &Path) -> Result<Self, MasterKeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| MasterKeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(text.trim())
    }

    fn create_file(path: &Path) -> Result<Self, MasterKeyError> {
        let key = Self::generate()?;
        let io = |source| MasterKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        file.write_all(key.expose_base64().as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(key)
    }

    fn cipher(&self) -> Result<LessSafeKey, MasterKeyError> {
        UnboundKey::new(&AES_256_GCM, self.bytes.as_ref())
            .map(LessSafeKey::new)
            .map_err(|_| MasterKeyError::Crypto)
    }

    /// The sealing context of a user's TOTP secret (what `rewrap` re-seals besides the
    /// keys).
    pub fn totp_context(user_id: i64) -> String {
        format!("totp:{user_id}")
    }

    /// Seals `plaintext`, bound to `context` (the key id and algorithm) as associated data.
    ///
    /// # Errors
    /// [`MasterKeyError::Crypto`].
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, MasterKeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| MasterKeyError::Crypto)?;
        let mut buf = plaintext.to_vec();
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| MasterKeyError::Crypto)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens a value sealed by [`MasterKey::seal`] with the same `context`.
    ///
    /// # Errors
    /// [`MasterKeyError::WrongKey`] if the key or context differ or the value was altered.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(MasterKeyError::WrongKey);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::WrongKey)?;
        let mut buf = Zeroizing::new(body.to_vec());
        let plain = self
            .cipher()?
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| MasterKeyError::WrongKey)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_context() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal(b"private", "kid1").unwrap();
        assert_eq!(key.open(&sealed, "kid1").unwrap().as_slice(), b"private");
        assert!(key.open(&sealed, "kid2").is_err());
        assert!(
            MasterKey::generate()
                .unwrap()
                .open(&sealed, "kid1")
                .is_err()
        );
    }

    #[test]
    fn parses_base64_and_hex() {
        let key = MasterKey::generate().unwrap();
        let b64 = key.expose_base64();
        let hex: String = STANDARD
            .decode(b64.as_bytes())
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let sealed = key.seal(b"x", "c").unwrap();
        for text in [b64.as_str(), hex.as_str()] {
            assert!(MasterKey::parse(text).unwrap().open(&sealed, "c").is_ok());
        }
        assert!(MasterKey::parse("too short").is_err());
    }
}
