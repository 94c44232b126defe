//! Recovery codes: 10 single-use codes of 80 random bits each, shown once, stored as
//! SHA-256; regenerating replaces the whole set.

use super::AuthnError;
use crate::domain::digest::sha256_hex;
use crate::service::audit;
use crate::state::AppState;
use crate::store::User;

/// Codes in a set.
pub const CODES: usize = 10;

/// The alphabet of codes: Crockford's base32, lower case (no i, l, o or u to misread).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new set: the codes (to show once) and their hashes (to store).
///
/// # Errors
/// The random generator failed.
pub fn generate() -> Result<(Vec<String>, Vec<String>), tessera_token::RandomError> {
    let mut codes = Vec::with_capacity(CODES);
    for _ in 0..CODES {
        let mut bytes = [0u8; 16];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| tessera_token::RandomError)?;
        // 16 characters of 5 bits: 80 bits, shown as four groups of four.
        let chars: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        let code = format!(
            "{}-{}-{}-{}",
            &chars[0..4],
            &chars[4..8],
            &chars[8..12],
            &chars[12..16]
        );
        codes.push(code);
    }
    let hashes = codes.iter().map(|c| hash(c)).collect();
    Ok((codes, hashes))
}

/// The stored form of a code as typed: case, spaces and dashes do not matter.
fn hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    sha256_hex(&normal)
}

/// Whether `code` looks like a recovery code (rather than a TOTP code).
pub fn looks_like(code: &str) -> bool {
    let n = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .count();
    n == 16
}

/// Replaces the user's recovery codes with a new set; returns the codes, to show once.
///
/// # Errors
/// [`AuthnError::NotEnrolled`] when the user has no second factor to recover; random or
/// store failures.
pub async fn regenerate(state: &AppState, user: &User) -> Result<Vec<String>, AuthnError> {
    if !super::factors_of(state, user.id).await?.enrolled() {
        return Err(AuthnError::NotEnrolled);
    }
    let (codes, hashes) = generate()?;
    let now = state.clock.unix();
    state
        .store
        .replace_recovery_codes(user.id, &hashes, now)
        .await?;
    audit::event("mfa.recovery_codes_regenerated")
        .actor(user.id)
        .subject(&user.username)
        .record(state.store.as_ref(), now)
        .await;
    super::notice::send(state, user, super::notice::Change::RecoveryCodesReplaced);
    Ok(codes)
}

/// Spends one of the user's recovery codes.
///
/// # Errors
/// [`AuthnError::WrongCode`] (unknown or used), store failures.
pub async fn redeem(state: &AppState, user: &User, code: &str) -> Result<(), AuthnError> {
    if state
        .store
        .use_recovery_code(user.id, &hash(code), state.clock.unix())
        .await?
    {
        Ok(())
    } else {
        Err(AuthnError::WrongCode)
    }
}
