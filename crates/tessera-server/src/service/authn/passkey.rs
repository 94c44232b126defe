//! Passkeys (WebAuthn, by webauthn-rs): registration by a signed-in user who authenticated
//! recently, usernameless sign-in (a discoverable credential: the passkey alone, user
//! verification required), and a passkey as the second factor of a password sign-in.
//! A registration's and a second factor's ceremony state stays in the store (5 minutes,
//! taken once; the browser holds only its id); a usernameless sign-in's travels sealed and
//! is recorded as used once it verified (anyone may start one: nothing is written then). A signature counter that goes backwards (a cloned authenticator) is
//! refused and audited.

use super::AuthnError;
use super::ticket::{self, Purpose};
use crate::config::MfaSettings;
use crate::domain::authn::{Method, Methods};
use crate::domain::digest::sha256_hex;
use crate::service::audit;
use crate::state::AppState;
use crate::store::{Ceremony, PasskeyRow, User};
use webauthn_rs::prelude::{
    AuthenticationResult, CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    Url, Uuid, Webauthn, WebauthnBuilder,
};

/// How long a ceremony waits for the browser, seconds.
pub const CEREMONY_LIFETIME: i64 = 300;

/// How recent the sign-in must be to register a passkey (or remove one), seconds.
pub const RECENT: i64 = 600;

/// The longest name a passkey may have.
const MAX_NAME_CHARS: usize = 64;

/// The relying party for `issuer` (or `[mfa] passkey_rp_id`), or `None` (logged) when the
/// RP id would be an IP address, which browsers refuse.
pub fn relying_party(mfa: &MfaSettings, issuer: &str) -> Option<Webauthn> {
    let origin = Url::parse(issuer).ok()?;
    let host = origin.host_str()?.to_owned();
    let rp_id = mfa.passkey_rp_id.clone().unwrap_or(host);
    if rp_id.parse::<std::net::IpAddr>().is_ok() || rp_id.starts_with('[') {
        tracing::warn!(
            %issuer,
            "passkeys are off: browsers refuse an IP address as the relying party id; \
             use http://localhost:PORT for development, or set [mfa] passkey_rp_id"
        );
        return None;
    }
    let mut builder = match WebauthnBuilder::new(&rp_id, &origin) {
        Ok(b) => b.rp_name("Tessera"),
        Err(e) => {
            tracing::warn!(error = %e, %rp_id, "passkeys are off: the relying party is not valid");
            return None;
        }
    };
    for extra in &mfa.passkey_origins {
        if let Ok(url) = Url::parse(extra) {
            builder = builder.append_allowed_origin(&url);
        }
    }
    builder.build().ok()
}

fn rp(state: &AppState) -> Result<&Webauthn, AuthnError> {
    state.webauthn.as_deref().ok_or(AuthnError::PasskeysOff)
}

/// What the browser gets to run a ceremony: its id and the options for
/// `navigator.credentials` (WebAuthn's JSON form).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Challenge {
    /// The ceremony's id (sent back with the browser's answer).
    pub ceremony: String,
    /// `{"publicKey": …}` for `navigator.credentials.create` / `get`.
    pub options: serde_json::Value,
}

async fn store_ceremony(
    state: &AppState,
    user_id: Option<i64>,
    kind: &str,
    ceremony_state: &impl serde::Serialize,
    options: serde_json::Value,
) -> Result<Challenge, AuthnError> {
    let id = tessera_token::claims::random_hex::<32>()?;
    let state_json = serde_json::to_string(ceremony_state).map_err(|_| AuthnError::Rejected)?;
    state
        .store
        .insert_ceremony(&Ceremony {
            id_hash: sha256_hex(&id),
            user_id,
            kind: kind.to_owned(),
            state: state_json,
            expires_at: state.clock.unix().saturating_add(CEREMONY_LIFETIME),
        })
        .await?;
    Ok(Challenge {
        ceremony: id,
        options,
    })
}

async fn take_ceremony<T: serde::de::DeserializeOwned>(
    state: &AppState,
    id: &str,
    kind: &str,
) -> Result<(Option<i64>, T), AuthnError> {
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthnError::Ceremony);
    }
    let found = state
        .store
        .take_ceremony(&sha256_hex(id), kind, state.clock.unix())
        .await?
        .ok_or(AuthnError::Ceremony)?;
    let parsed = serde_json::from_str(&found.state).map_err(|_| AuthnError::Ceremony)?;
    Ok((found.user_id, parsed))
}

/// The user's passkeys, as webauthn-rs needs them.
async fn passkeys(
    state: &AppState,
    user_id: i64,
) -> Result<Vec<(PasskeyRow, Passkey)>, AuthnError> {
    let rows = state.store.passkeys_of(user_id).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let key = serde_json::from_str::<Passkey>(&row.passkey).ok()?;
            Some((row, key))
        })
        .collect())
}

/// The user's WebAuthn handle: the one their passkeys have, or a new random one.
async fn handle_of(state: &AppState, user_id: i64) -> Result<Uuid, AuthnError> {
    let existing = state.store.passkeys_of(user_id).await?;
    match existing
        .first()
        .and_then(|p| Uuid::parse_str(&p.handle).ok())
    {
        Some(h) => Ok(h),
        None => {
            let mut bytes = [0u8; 16];
            aws_lc_rs::rand::fill(&mut bytes).map_err(|_| tessera_token::RandomError)?;
            Ok(uuid_v4(bytes))
        }
    }
}

fn uuid_v4(mut bytes: [u8; 16]) -> Uuid {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// Begins registering a passkey for `user` (the caller checked the password, and an
/// `aal2` sign-in when the user has a factor), whose session authenticated at
/// `auth_time`: refused unless that was within [`RECENT`]. The credential must be
/// discoverable (so that it signs in without a username) and verify its user.
///
/// # Errors
/// [`AuthnError::StepUpRequired`] (not recent), [`AuthnError::PasskeysOff`], store errors.
pub async fn begin_registration(
    state: &AppState,
    user: &User,
    auth_time: i64,
) -> Result<Challenge, AuthnError> {
    let rp = rp(state)?;
    if state.clock.unix().saturating_sub(auth_time) > RECENT {
        return Err(AuthnError::StepUpRequired);
    }
    let handle = handle_of(state, user.id).await?;
    let exclude: Vec<CredentialID> = passkeys(state, user.id)
        .await?
        .iter()
        .map(|(_, k)| k.cred_id().clone())
        .collect();
    let (ccr, reg) = rp
        .start_passkey_registration(handle, &user.username, &user.username, Some(exclude))
        .map_err(|_| AuthnError::Rejected)?;
    let mut options = serde_json::to_value(&ccr).map_err(|_| AuthnError::Rejected)?;
    // Usernameless sign-in needs a discoverable credential (WebAuthn's JSON names).
    if let Some(sel) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(serde_json::Value::as_object_mut)
    {
        sel.insert("residentKey".into(), "required".into());
        sel.insert("requireResidentKey".into(), true.into());
    }
    store_ceremony(state, Some(user.id), "register", &(handle, reg), options).await
}

/// Completes a registration with the browser's answer: the passkey, named `name`. When it
/// is the user's first factor, returns the recovery codes made with it (shown once).
/// Every session of the user ends with it (the caller starts the browser's again).
///
/// # Errors
/// [`AuthnError::Ceremony`] (unknown, expired, another user's), [`AuthnError::Rejected`]
/// (the answer does not verify: another RP id or origin, no user verification, …),
/// [`AuthnError::AlreadyEnrolled`] (a credential registered before).
pub async fn finish_registration(
    state: &AppState,
    user: &User,
    ceremony: &str,
    name: &str,
    credential: &serde_json::Value,
) -> Result<Vec<String>, AuthnError> {
    let rp = rp(state)?;
    let (owner, (handle, reg)): (_, (Uuid, PasskeyRegistration)) =
        take_ceremony(state, ceremony, "register").await?;
    if owner != Some(user.id) {
        return Err(AuthnError::Ceremony);
    }
    let answer: RegisterPublicKeyCredential =
        serde_json::from_value(credential.clone()).map_err(|_| AuthnError::Rejected)?;
    let key = rp.finish_passkey_registration(&answer, &reg).map_err(|e| {
        tracing::info!(error = %e, "a passkey registration was refused");
        AuthnError::Rejected
    })?;
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control() && !is_format(*c))
        .take(MAX_NAME_CHARS)
        .collect();
    let name = if name.is_empty() {
        "Passkey".to_owned()
    } else {
        name
    };
    let first = !super::factors_of(state, user.id).await?.enrolled()
        && state.store.recovery_codes(user.id).await?.is_none();
    let (codes, hashes) = if first {
        super::recovery::generate()?
    } else {
        (Vec::new(), Vec::new())
    };
    let now = state.clock.unix();
    let row = PasskeyRow {
        credential_id: credential_id_text(key.cred_id()),
        user_id: user.id,
        handle: handle.to_string(),
        name,
        passkey: serde_json::to_string(&key).map_err(|_| AuthnError::Rejected)?,
        created_at: now,
        last_used_at: None,
    };
    match state.store.insert_passkey(&row, &hashes).await {
        Ok(()) => {}
        Err(crate::store::StoreError::Conflict(_)) => return Err(AuthnError::AlreadyEnrolled),
        Err(e) => return Err(e.into()),
    }
    audit::event("mfa.passkey_added")
        .actor(user.id)
        .subject(&user.username)
        .detail(&row.name)
        .record(state.store.as_ref(), now)
        .await;
    super::notice::send(state, user, super::notice::Change::PasskeyAdded);
    Ok(codes)
}

/// Invisible format characters (bidi overrides, zero-width): a name must read as it is.
fn is_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn credential_id_text(id: &CredentialID) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_slice())
}

/// Begins a usernameless sign-in (any discoverable passkey of this RP).
///
/// Anyone may ask, so nothing is written: the ceremony's state travels sealed (AES-GCM
/// under the master key, with its expiry) in the ceremony id, and is recorded as used only
/// once an answer verified (a replay of that answer is refused then).
///
/// # Errors
/// [`AuthnError::PasskeysOff`].
pub async fn begin_sign_in(state: &AppState) -> Result<Challenge, AuthnError> {
    use base64::Engine as _;
    let rp = rp(state)?;
    let (rcr, auth) = rp
        .start_discoverable_authentication()
        .map_err(|_| AuthnError::Rejected)?;
    let options = serde_json::to_value(&rcr).map_err(|_| AuthnError::Rejected)?;
    let expires = state.clock.unix().saturating_add(CEREMONY_LIFETIME);
    let plain = serde_json::to_vec(&(expires, &auth)).map_err(|_| AuthnError::Rejected)?;
    let sealed = state
        .keys
        .master()
        .seal(&plain, SIGN_IN_SEAL)
        .map_err(|_| AuthnError::Rejected)?;
    Ok(Challenge {
        ceremony: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed),
        options,
    })
}

/// The sealing context of a usernameless sign-in's state.
const SIGN_IN_SEAL: &str = "webauthn-sign-in";

/// The longest sealed sign-in ceremony taken (its state is a few hundred bytes).
const MAX_SEALED_CHARS: usize = 8192;

/// A sealed sign-in ceremony's state, when it is Tessera's and not expired.
fn open_sign_in(
    state: &AppState,
    ceremony: &str,
) -> Result<DiscoverableAuthentication, AuthnError> {
    use base64::Engine as _;
    if ceremony.len() > MAX_SEALED_CHARS {
        return Err(AuthnError::Ceremony);
    }
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(ceremony)
        .map_err(|_| AuthnError::Ceremony)?;
    let plain = state
        .keys
        .master()
        .open(&sealed, SIGN_IN_SEAL)
        .map_err(|_| AuthnError::Ceremony)?;
    let (expires, auth): (i64, DiscoverableAuthentication) =
        serde_json::from_slice(&plain).map_err(|_| AuthnError::Ceremony)?;
    if expires <= state.clock.unix() {
        return Err(AuthnError::Ceremony);
    }
    Ok(auth)
}

/// Records a verified sign-in ceremony as used: false when it was used before (a replay).
async fn spend_sign_in(state: &AppState, ceremony: &str) -> Result<bool, AuthnError> {
    let used = Ceremony {
        id_hash: sha256_hex(ceremony),
        user_id: None,
        kind: "login-used".into(),
        state: String::new(),
        expires_at: state.clock.unix().saturating_add(CEREMONY_LIFETIME),
    };
    match state.store.insert_ceremony(&used).await {
        Ok(()) => Ok(true),
        Err(crate::store::StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Completes a usernameless sign-in: the passkey's user (active), and the methods used.
///
/// # Errors
/// [`AuthnError::Ceremony`], [`AuthnError::Rejected`] (no such passkey, a signature that
/// does not verify, no user verification, another origin), [`AuthnError::Cloned`].
pub async fn finish_sign_in(
    state: &AppState,
    ceremony: &str,
    credential: &serde_json::Value,
) -> Result<(User, Methods), AuthnError> {
    let rp = rp(state)?;
    let auth = open_sign_in(state, ceremony)?;
    let answer: PublicKeyCredential =
        serde_json::from_value(credential.clone()).map_err(|_| AuthnError::Rejected)?;
    let (handle, cred_id) = rp
        .identify_discoverable_authentication(&answer)
        .map_err(|_| AuthnError::Rejected)?;
    let row = state
        .store
        .passkey(&credential_id_text(&CredentialID::from(cred_id.to_vec())))
        .await?
        .filter(|r| r.handle == handle.to_string())
        .ok_or(AuthnError::Rejected)?;
    let key: Passkey = serde_json::from_str(&row.passkey).map_err(|_| AuthnError::Rejected)?;
    let result = rp
        .finish_discoverable_authentication_v2(&answer, auth, DiscoverableKey::from(&key))
        .map_err(refused)?;
    if !spend_sign_in(state, ceremony).await? {
        return Err(AuthnError::Ceremony);
    }
    let user = active_user(state, row.user_id).await?;
    record_use(state, row, key, &result).await?;
    Ok((user, Methods::one(Method::Passkey, state.clock.unix())))
}

/// Begins a passkey as the second factor of the sign-in `ticket` stands for.
///
/// # Errors
/// [`AuthnError::Ceremony`] (no live ticket), [`AuthnError::NotEnrolled`] (no passkey).
pub async fn begin_second_factor(state: &AppState, token: &str) -> Result<Challenge, AuthnError> {
    let rp = rp(state)?;
    let user = ticket::user_of(state, token, Purpose::Browser)
        .await?
        .ok_or(AuthnError::Ceremony)?;
    let keys: Vec<Passkey> = passkeys(state, user.id)
        .await?
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    if keys.is_empty() {
        return Err(AuthnError::NotEnrolled);
    }
    let (rcr, auth) = rp
        .start_passkey_authentication(&keys)
        .map_err(|_| AuthnError::Rejected)?;
    let options = serde_json::to_value(&rcr).map_err(|_| AuthnError::Rejected)?;
    store_ceremony(state, Some(user.id), "second_factor", &auth, options).await
}

/// Checks a passkey answer for the second factor of `user`'s sign-in.
///
/// # Errors
/// As [`finish_sign_in`].
pub async fn check_second_factor(
    state: &AppState,
    user: &User,
    ceremony: &str,
    credential: &serde_json::Value,
) -> Result<(), AuthnError> {
    let rp = rp(state)?;
    let (owner, auth): (_, PasskeyAuthentication) =
        take_ceremony(state, ceremony, "second_factor").await?;
    if owner != Some(user.id) {
        return Err(AuthnError::Ceremony);
    }
    let answer: PublicKeyCredential =
        serde_json::from_value(credential.clone()).map_err(|_| AuthnError::Rejected)?;
    let result = rp
        .finish_passkey_authentication(&answer, &auth)
        .map_err(refused)?;
    let id = credential_id_text(result.cred_id());
    let row = state
        .store
        .passkey(&id)
        .await?
        .filter(|r| r.user_id == user.id)
        .ok_or(AuthnError::Rejected)?;
    let key: Passkey = serde_json::from_str(&row.passkey).map_err(|_| AuthnError::Rejected)?;
    record_use(state, row, key, &result).await
}

fn refused(e: webauthn_rs::prelude::WebauthnError) -> AuthnError {
    use webauthn_rs::prelude::WebauthnError;
    match e {
        WebauthnError::CredentialPossibleCompromise => AuthnError::Cloned,
        e => {
            tracing::info!(error = %e, "a passkey assertion was refused");
            AuthnError::Rejected
        }
    }
}

async fn active_user(state: &AppState, id: i64) -> Result<User, AuthnError> {
    match state.store.user_by_id(id).await? {
        Some(u) if u.is_active && u.email_verified => Ok(u),
        _ => Err(AuthnError::Rejected),
    }
}

/// A verified use: the counter and backup state written back over the state read (a
/// concurrent use of a copy loses), the time recorded.
async fn record_use(
    state: &AppState,
    row: PasskeyRow,
    mut key: Passkey,
    result: &AuthenticationResult,
) -> Result<(), AuthnError> {
    // Against the counter stored now, not the one the ceremony started with (a clone
    // answering between the device's uses would pass that).
    let stored = serde_json::from_str::<serde_json::Value>(&row.passkey)
        .ok()
        .and_then(|v| {
            v.pointer("/cred/counter")
                .and_then(serde_json::Value::as_u64)
        })
        .unwrap_or(0);
    if result.counter() != 0 && u64::from(result.counter()) <= stored {
        return Err(AuthnError::Cloned);
    }
    key.update_credential(result);
    let new = serde_json::to_string(&key).map_err(|_| AuthnError::Rejected)?;
    if !state
        .store
        .use_passkey(&row.credential_id, &row.passkey, &new, state.clock.unix())
        .await?
    {
        return Err(AuthnError::Cloned);
    }
    Ok(())
}

/// Audits a cloned authenticator (a counter that went backwards, or a use racing
/// another with the same counter).
pub async fn audit_cloned(state: &AppState, credential: &serde_json::Value) {
    let id = credential.get("id").and_then(|v| v.as_str()).unwrap_or("?");
    let id: String = id.chars().take(64).collect();
    audit::event("mfa.passkey_cloned")
        .detail(format!(
            "credential {id}: its signature counter went backwards; refused"
        ))
        .record(state.store.as_ref(), state.clock.unix())
        .await;
}

/// Removes one of the user's passkeys (the caller checked recent authentication and the
/// password); with no factor left, the recovery codes go too.
///
/// # Errors
/// [`AuthnError::NotEnrolled`], store failures.
pub async fn remove(
    state: &AppState,
    user: &User,
    credential_id: &str,
    actor: audit::Actor,
) -> Result<(), AuthnError> {
    let factors = super::factors_of(state, user.id).await?;
    let last = factors.totp.is_none() && factors.passkeys.len() <= 1;
    if !state
        .store
        .remove_passkey(user.id, credential_id, last, state.clock.unix())
        .await?
    {
        return Err(AuthnError::NotEnrolled);
    }
    audit::event("mfa.passkey_removed")
        .actor(actor)
        .subject(&user.username)
        .record(state.store.as_ref(), state.clock.unix())
        .await;
    super::notice::send(state, user, super::notice::Change::PasskeyRemoved);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_address_issuer_has_no_passkeys_and_localhost_does() {
        let mfa = MfaSettings::default();
        assert!(relying_party(&mfa, "http://127.0.0.1:8000").is_none());
        assert!(relying_party(&mfa, "http://[::1]:8000").is_none());
        assert!(relying_party(&mfa, "http://localhost:8000").is_some());
        assert!(relying_party(&mfa, "https://id.example.com").is_some());
    }
}
