//! Tokens of the djangorestframework-simplejwt deployment Tessera replaces, accepted until
//! `[tokens] legacy_until`: its access tokens verify, its refresh tokens are exchanged once.

use super::{TokenError, current_user};
use crate::state::AppState;
use crate::store::User;
use tessera_proto::{Secret, TokenPair};
use tessera_token::{AccessClaims, VerifyError};

/// An access token of the Django deployment Tessera replaced (signed by the key imported as
/// `[tokens] legacy_kid` or one of `legacy_public_keys`), accepted until `legacy_until`.
pub(super) fn legacy_access(
    state: &AppState,
    published: &tessera_token::KeySet,
    token: &Secret,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let t = &state.settings.tokens;
    if t.legacy_until.is_none_or(|u| now >= u.unix_timestamp()) {
        return Err(VerifyError::UnknownKey.into());
    }
    // simplejwt's tokens carry no kid: try the imported key and the configured public keys.
    let imported = t.legacy_kid.as_deref().and_then(|kid| published.get(kid));
    let mut outcome = Err(VerifyError::UnknownKey);
    for key in imported.into_iter().chain(&state.legacy_keys) {
        outcome = tessera_token::validate::verify_legacy_access(
            token.expose(),
            key,
            &state.validation,
            now,
        );
        if outcome.is_ok() {
            break;
        }
    }
    let claims = outcome?;
    tracing::debug!(
        user_id = claims.user_id,
        "accepted a legacy simplejwt access token"
    );
    Ok(claims)
}

/// Whether a legacy (simplejwt) token issued at `iat` can be `user`'s: the old system
/// issued it for the user who had that id then, so the account must hold the id the import
/// kept (`imported_id`: not one made here, nor imported with `--new-ids`) and be at least
/// as old (imports keep Django's `date_joined`). An account made later under an id the
/// import skipped or refused is someone else: the token names who held the id.
pub(super) fn legacy_token_is_theirs(user: &User, iat: i64) -> bool {
    user.imported_id && user.date_joined.unix_timestamp() <= iat
}

/// A refresh token of the simplejwt deployment Tessera replaced (`[tokens]
/// legacy_hs256_secret`, until `legacy_until`), exchanged once for a new Tessera pair (a
/// new family). `None` when the window is closed or the token is not such a token, so the
/// caller reports its own error; `Some(Err)` for a legacy token refused (used already, user
/// gone or disabled).
pub(super) async fn legacy_refresh(
    state: &AppState,
    token: &Secret,
    now: i64,
) -> Option<Result<TokenPair, TokenError>> {
    let t = &state.settings.tokens;
    let (Some(secret), Some(until)) = (&t.legacy_hs256_secret, t.legacy_until) else {
        return None;
    };
    if now >= until.unix_timestamp() {
        return None;
    }
    let legacy = tessera_token::validate::verify_legacy_refresh(
        token.expose(),
        secret.expose().as_bytes(),
        &state.validation,
        now,
    )
    .ok()?;
    Some(exchange_legacy(state, &legacy).await)
}

pub(super) async fn exchange_legacy(
    state: &AppState,
    legacy: &tessera_token::validate::LegacyRefresh,
) -> Result<TokenPair, TokenError> {
    // simplejwt's tokens carry no epoch: they die at the user's first "end every session".
    let user = current_user(state, legacy.user_id, 0).await?;
    if !legacy_token_is_theirs(&user, legacy.iat) {
        return Err(TokenError::NotValid(
            "a legacy token older than its user's account",
        ));
    }
    // The marker must outlive every moment the token verifies: until `exp` plus the
    // leeway (pruned at `exp`, a replay in the leeway got a second family).
    let verifies_until = legacy.exp.saturating_add(state.validation.leeway);
    if !state
        .store
        .use_legacy_refresh(&legacy.jti, verifies_until)
        .await?
    {
        crate::service::audit::event("token.reuse_detected")
            .subject(legacy.user_id)
            .detail("a legacy simplejwt refresh token presented again")
            .record(state.store.as_ref(), state.clock.unix())
            .await;
        return Err(TokenError::NotValid("legacy refresh token used already"));
    }
    // The old system's tokens carry no second factor: a user who must use one signs in.
    let required =
        crate::service::authn::policy::requirement(&state.settings.mfa, &user, false, None, None);
    if required != crate::service::authn::Requirement::PasswordOnly {
        return Err(TokenError::NotValid(
            "this account signs in with a second factor: log in again",
        ));
    }
    tracing::info!(
        user_id = user.id,
        "exchanged a legacy simplejwt refresh token"
    );
    let now = state.clock.unix();
    let methods = crate::domain::authn::Methods::one(crate::domain::authn::Method::Password, now);
    let authn = super::Authn::of(&methods, legacy.iat.min(now));
    let grant = super::Grant {
        authn: Some(&authn),
        ..super::Grant::DIRECT
    };
    super::issue_pair_for(state, &user, grant).await
}
