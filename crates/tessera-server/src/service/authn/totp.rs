//! TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of skew): a secret per
//! user sealed under the master key, shown once at enrolment, counted only once confirmed
//! with a first code; every code accepted once (its step must be later than the last
//! accepted one).

use super::{AuthnError, recovery};
use crate::service::audit;
use crate::state::AppState;
use crate::store::User;
use totp_rs::{Builder, Totp};
use zeroize::Zeroizing;

/// What an enrolment shows the user, once (never printed: `Debug` redacts it).
#[derive(Clone)]
pub struct Enrolment {
    /// The secret, base32 (for typing into an authenticator app).
    pub secret: String,
    /// The `otpauth://totp/…` URI (what the QR code holds).
    pub otpauth_url: String,
    /// The URI as a QR code, an inline SVG drawn by Tessera.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// How long an enrolment waits for its first code, seconds.
pub const PENDING_LIFETIME: i64 = 900;

/// Secret length: 160 bits, RFC 4226's recommendation.
const SECRET_BYTES: usize = 20;

fn seal_context(user_id: i64) -> String {
    crate::keys::MasterKey::totp_context(user_id)
}

/// The TOTP of `secret` for `account` (labels may not hold `:`).
fn totp_of(state: &AppState, secret: &[u8], account: &str) -> Result<Totp, AuthnError> {
    let issuer = state.settings.mfa.totp_issuer.clone().unwrap_or_else(|| {
        url::Url::parse(&state.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "Tessera".to_owned())
    });
    Builder::new()
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer.replace(':', "_")))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|_| AuthnError::Sealed)
}

/// Begins an enrolment: a new secret, stored sealed and pending (replacing a pending
/// one). Refused while a confirmed one exists.
///
/// # Errors
/// [`AuthnError::AlreadyEnrolled`], random or store failures.
pub async fn begin(state: &AppState, user: &User) -> Result<Enrolment, AuthnError> {
    if let Some(t) = state.store.totp_secret(user.id).await?
        && t.confirmed_at.is_some()
    {
        return Err(AuthnError::AlreadyEnrolled);
    }
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    aws_lc_rs::rand::fill(secret.as_mut()).map_err(|_| tessera_token::RandomError)?;
    let sealed = state
        .keys
        .master()
        .seal(secret.as_ref(), &seal_context(user.id))
        .map_err(|_| AuthnError::Sealed)?;
    if !state
        .store
        .begin_totp(user.id, &sealed, state.clock.unix())
        .await?
    {
        return Err(AuthnError::AlreadyEnrolled);
    }
    let totp = totp_of(state, secret.as_ref(), &user.username)?;
    let otpauth_url = totp.to_url().map_err(|_| AuthnError::Sealed)?;
    Ok(Enrolment {
        secret: totp_rs::Secret::from(secret.to_vec()).to_base32(),
        qr_svg: qr_svg(&otpauth_url),
        otpauth_url,
    })
}

/// The pending enrolment of `user` shown again (a wrong first code on the account page):
/// the same secret, which the user already proved their password for.
///
/// # Errors
/// [`AuthnError::NothingToConfirm`], store failures.
pub async fn pending(state: &AppState, user: &User) -> Result<Enrolment, AuthnError> {
    let sealed = match state.store.totp_secret(user.id).await? {
        Some(t) if t.confirmed_at.is_none() => t.sealed,
        _ => return Err(AuthnError::NothingToConfirm),
    };
    let secret = state
        .keys
        .master()
        .open(&sealed, &seal_context(user.id))
        .map_err(|_| AuthnError::Sealed)?;
    let totp = totp_of(state, &secret, &user.username)?;
    let otpauth_url = totp.to_url().map_err(|_| AuthnError::Sealed)?;
    Ok(Enrolment {
        secret: totp_rs::Secret::from(secret.to_vec()).to_base32(),
        qr_svg: qr_svg(&otpauth_url),
        otpauth_url,
    })
}

/// The otpauth URI as an SVG QR code (empty if it cannot be drawn: the URI and secret are
/// shown beside it).
fn qr_svg(uri: &str) -> String {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

/// Confirms the pending enrolment with a first code. When this is the user's first
/// factor, returns the recovery codes made with it (shown once); otherwise an empty list.
///
/// # Errors
/// [`AuthnError::NothingToConfirm`], [`AuthnError::WrongCode`], store failures.
pub async fn confirm(state: &AppState, user: &User, code: &str) -> Result<Vec<String>, AuthnError> {
    let now = state.clock.unix();
    let pending = match state.store.totp_secret(user.id).await? {
        // An enrolment left unconfirmed for longer is over: start again.
        Some(t) if t.confirmed_at.is_none() && now - t.created_at <= PENDING_LIFETIME => t,
        Some(t) if t.confirmed_at.is_some() => return Err(AuthnError::AlreadyEnrolled),
        _ => return Err(AuthnError::NothingToConfirm),
    };
    let step = matching_step(state, user, &pending.sealed, code)?;
    let first = state.store.recovery_codes(user.id).await?.is_none();
    let (codes, hashes) = if first {
        recovery::generate()?
    } else {
        (Vec::new(), Vec::new())
    };
    if !state
        .store
        .confirm_totp(user.id, &pending.sealed, step, now, &hashes)
        .await?
    {
        return Err(AuthnError::WrongCode);
    }
    audit::event("mfa.totp_enrolled")
        .actor(user.id)
        .subject(&user.username)
        .record(state.store.as_ref(), now)
        .await;
    super::notice::send(state, user, super::notice::Change::TotpAdded);
    Ok(codes)
}

/// Checks a code against the user's confirmed secret and spends its time step.
///
/// # Errors
/// [`AuthnError::NotEnrolled`], [`AuthnError::WrongCode`] (wrong, or its step used),
/// store failures.
pub async fn verify(state: &AppState, user: &User, code: &str) -> Result<(), AuthnError> {
    let secret = match state.store.totp_secret(user.id).await? {
        Some(t) if t.confirmed_at.is_some() => t,
        _ => return Err(AuthnError::NotEnrolled),
    };
    // Too many wrong codes in a row: this authenticator takes no more (recovery codes
    // still do; an admin reset starts again).
    if secret.failures >= crate::store::TOTP_MAX_FAILURES {
        return Err(AuthnError::WrongCode);
    }
    let step = matching_step(state, user, &secret.sealed, code)?;
    if state
        .store
        .use_totp_step(user.id, step, state.clock.unix())
        .await?
    {
        Ok(())
    } else {
        Err(AuthnError::WrongCode)
    }
}

/// The time step `code` matches (now, or one step either side), for the sealed secret.
fn matching_step(
    state: &AppState,
    user: &User,
    sealed: &[u8],
    code: &str,
) -> Result<i64, AuthnError> {
    let secret = state
        .keys
        .master()
        .open(sealed, &seal_context(user.id))
        .map_err(|_| AuthnError::Sealed)?;
    let totp = totp_of(state, &secret, &user.username)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthnError::WrongCode);
    }
    let now = u64::try_from(state.clock.unix()).unwrap_or(0);
    let step = totp.check(code, now).ok_or(AuthnError::WrongCode)?;
    i64::try_from(step).map_err(|_| AuthnError::WrongCode)
}

/// Removes the user's TOTP secret (and their recovery codes, when no factor is left).
///
/// # Errors
/// [`AuthnError::NotEnrolled`], store failures.
pub async fn remove(state: &AppState, user: &User, actor: audit::Actor) -> Result<(), AuthnError> {
    // The recovery codes go with the last factor only.
    let passkeys_left = !state.store.passkeys_of(user.id).await?.is_empty();
    if !state.store.remove_totp(user.id, !passkeys_left).await? {
        return Err(AuthnError::NotEnrolled);
    }
    audit::event("mfa.totp_removed")
        .actor(actor)
        .subject(&user.username)
        .record(state.store.as_ref(), state.clock.unix())
        .await;
    super::notice::send(state, user, super::notice::Change::TotpRemoved);
    Ok(())
}
