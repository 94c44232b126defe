//! Codes (issued, stored by hash), the redirects that carry them or an error, and PKCE.

use super::{AuthorizeError, AuthorizeRequest, is_pkce_value};
use crate::state::AppState;
use crate::store::{AuthCode, Session};
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_token::RandomError;
use url::Url;

/// How long a code may wait to be redeemed.
pub const CODE_LIFETIME: i64 = 60;

/// An error answer sent back to the client (RFC 6749 §4.1.2.1): `error`,
/// `error_description` in RFC 6749's characters, `state`, and `iss` (RFC 9207: every
/// authorization response names the issuer, errors included).
pub fn error_redirect_url(
    state: &AppState,
    redirect_uri: &str,
    error: &str,
    description: &str,
    client_state: Option<&str>,
) -> String {
    let description = tessera_proto::oauth::error_description(description);
    redirect_url(
        redirect_uri,
        &[
            ("error", Some(error)),
            ("error_description", Some(description.as_str())),
            ("state", client_state),
            ("iss", Some(state.issuer.as_str())),
        ],
    )
}

/// Stores a code for this request and returns the redirect carrying it (with `state` and
/// `iss`, RFC 9207).
pub(super) async fn issue_code(
    state: &AppState,
    req: &AuthorizeRequest,
    session: &Session,
) -> Result<String, AuthorizeError> {
    let code = random_token()?;
    let now = state.clock.unix();
    state
        .store
        .insert_code(&AuthCode {
            code_hash: crate::domain::digest::sha256_hex(&code),
            client_id: req.client.client_id.clone(),
            user_id: session.user_id,
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            sid: session.sid.clone(),
            auth_time: session.auth_time,
            expires_at: now + CODE_LIFETIME,
            session_epoch: session.session_epoch,
            methods: session.methods.clone(),
        })
        .await?;
    Ok(redirect_url(
        &req.redirect_uri,
        &[
            ("code", Some(code.as_str())),
            ("state", req.state.as_deref()),
            ("iss", Some(state.issuer.as_str())),
        ],
    ))
}

/// The error redirect for a validated request.
pub fn redirect_error(
    req: &AuthorizeRequest,
    error: &'static str,
    description: &str,
) -> AuthorizeError {
    AuthorizeError::Redirect {
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        error,
        description: description.to_owned(),
    }
}

/// `uri` with `params` appended to its query (keeping the query it has).
pub fn redirect_url(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            let present: Vec<(&str, &str)> = params
                .iter()
                .filter_map(|(k, v)| Some((*k, (*v)?)))
                .collect();
            // Nothing to add: the URI as registered (no empty `?`).
            if !present.is_empty() {
                url.query_pairs_mut().extend_pairs(present);
            }
            url.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// 256 random bits, base64url (codes and session cookies).
///
/// # Errors
/// [`RandomError`].
pub fn random_token() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RandomError)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The PKCE check (RFC 7636 §4.6): `BASE64URL(SHA256(verifier)) == challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    if !is_pkce_value(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            redirect_url(
                "https://app.example/cb?tenant=1",
                &[("code", Some("a b")), ("state", None)]
            ),
            "https://app.example/cb?tenant=1&code=a+b"
        );
    }
}
