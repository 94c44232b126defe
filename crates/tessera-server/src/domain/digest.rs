//! Hex digests. Tessera keeps what it must find again but never read back (codes, session
//! cookies, e-mail links, client secrets, pushed requests) as the hex SHA-256 of the value
//! (each value is 256 random bits, so no salt or slow hash is needed), and shows short
//! digests in hex.

use aws_lc_rs::digest;
use std::fmt::Write as _;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Lower-case hex of the SHA-256 of `value`.
pub fn sha256_hex(value: impl AsRef<[u8]>) -> String {
    hex(digest::digest(&digest::SHA256, value.as_ref()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_fips_180_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
