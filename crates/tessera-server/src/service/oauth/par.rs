//! Pushed authorization requests (RFC 9126): validated as the authorization endpoint would,
//! stored for 60 seconds under a one-time `request_uri`.

use super::OAuthError;
use crate::service::client::{self, ClientCredentials, ClientExt as _};
use crate::service::sso::authorize::{self, AuthorizeError};
use crate::state::AppState;

/// The longest pushed request stored (its values as JSON).
pub const MAX_PUSHED_BYTES: usize = 16 * 1024;

/// Pushed requests one client may have pending at once (at most 16 MiB for a client).
pub const MAX_PUSHED_PER_CLIENT: i64 = 1000;

/// What `/oauth/par` answers (RFC 9126 §2.2).
#[derive(Debug, serde::Serialize)]
pub struct Pushed {
    /// `urn:ietf:params:oauth:request_uri:…`, good once.
    pub request_uri: String,
    /// Seconds it stays good.
    pub expires_in: i64,
}

/// `POST /oauth/par` (RFC 9126): authenticates the client, replaces a request object by
/// its values (RFC 9126 §3), checks the authorization request as the authorization
/// endpoint would (its errors as JSON here, not redirects), and stores it, sealed as
/// pushed (and signed), under a fresh `request_uri` for [`PUSHED_LIFETIME`] seconds.
///
/// # Errors
/// [`OAuthError`]: `invalid_client`; `invalid_request_object` for a request object that
/// does not verify; `invalid_request` for a `request_uri` in the body, another client's
/// `client_id`, or a request the authorization endpoint would refuse.
pub async fn push(
    state: &AppState,
    creds: &ClientCredentials,
    mut params: authorize::AuthorizeParams,
) -> Result<Pushed, OAuthError> {
    let client = client::authenticate(state.store.as_ref(), creds).await?;
    if params.request_uri.is_some() {
        return Err(OAuthError::InvalidRequest(
            "request_uri may not be pushed (RFC 9126 §2.1)".into(),
        ));
    }
    let mut signed = false;
    if let Some(request) = params.request.take() {
        // RFC 9126 §3: the object's values only; unsigned taken from a client that
        // authenticated.
        let resolved = crate::service::sso::request_object::resolve(
            state,
            &client,
            &request,
            !client.is_public(),
        )
        .await
        .map_err(|e| OAuthError::InvalidRequestObject(e.0))?;
        params = resolved.params;
        signed = resolved.signed;
    }
    params.client_id = Some(client.client_id.clone());
    params.sealed = None;
    match authorize::validate(state, &params).await {
        Ok(_) => {}
        Err(AuthorizeError::Page(why)) => return Err(OAuthError::InvalidRequest(why)),
        Err(AuthorizeError::Redirect {
            error, description, ..
        }) => {
            return Err(match error {
                "invalid_scope" => OAuthError::InvalidScope(description),
                "unauthorized_client" => OAuthError::UnauthorizedClient(
                    "this client is not registered for the authorization code grant",
                ),
                _ => OAuthError::InvalidRequest(format!("{error}: {description}")),
            });
        }
        Err(AuthorizeError::Store(e)) => return Err(e.into()),
        Err(AuthorizeError::Random(_)) => {
            return Err(OAuthError::Internal("random generator failed".into()));
        }
    }
    let request_uri = format!(
        "{}{}",
        authorize::PUSHED_URI_PREFIX,
        authorize::random_token()
            .map_err(|_| OAuthError::Internal("random generator failed".into()))?
    );
    params.sealed = authorize::seal(
        state,
        &params,
        authorize::Provenance {
            pushed: true,
            signed,
        },
        "",
    );
    let stored = serde_json::to_string(&params)
        .map_err(|e| OAuthError::Internal(format!("pushed request: {e}")))?;
    // Anyone may push for a public client: what one client's pushes can hold is bounded.
    if stored.len() > MAX_PUSHED_BYTES {
        return Err(OAuthError::InvalidRequest(format!(
            "the request's values are longer than {MAX_PUSHED_BYTES} bytes"
        )));
    }
    let now = state.clock.unix();
    if state
        .store
        .count_pushed_requests(&client.client_id, now)
        .await?
        >= MAX_PUSHED_PER_CLIENT
    {
        return Err(OAuthError::Unavailable(
            "too many pushed requests of this client are pending; retry in a minute".into(),
        ));
    }
    let expires_in = authorize::PUSHED_LIFETIME;
    state
        .store
        .insert_pushed_request(
            &crate::domain::digest::sha256_hex(&request_uri),
            &client.client_id,
            &stored,
            state.clock.unix().saturating_add(expires_in),
        )
        .await?;
    Ok(Pushed {
        request_uri,
        expires_in,
    })
}
