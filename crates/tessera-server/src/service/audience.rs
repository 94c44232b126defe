//! The token-audience model: whom a token is for, and which of Tessera's own surfaces
//! accept it.
//!
//! - A token of Tessera's own sign-in (`/auth/token/`, the Flask-style `GET /login`: no
//!   client) is for `[tokens] audience`: the Django API and the services that verify that
//!   audience.
//! - A user's token issued to an OAuth client (code, password or refresh grant) is for that
//!   client: `aud` is its client id, plus the audiences a superuser granted it
//!   (`clients.audiences`). It is never good for Tessera's admin API unless it carries the
//!   `tessera:admin` scope, which only a first-party client may hold.
//! - A client-credentials token is a service's own token for the deployment's services
//!   (`[tokens] audience`, plus its granted audiences); it names no user, so no user API
//!   of Tessera's accepts it.
//!
//! README "Which tokens each route accepts" is the table of the same rules; a test walks
//! it with every kind of token.

use crate::service::client::ADMIN_SCOPE;
use crate::state::AppState;
use crate::store::Client;
use tessera_token::{AccessClaims, Audience};

/// One of Tessera's surfaces that takes a bearer access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/auth/token/verify/` (a service asking about a token): any token for
    /// `[tokens] audience`, a user's or a service's.
    Verify,
    /// The Django user API (`/auth/users/…`, `/user/profile`): a user's token for
    /// `[tokens] audience`.
    UserApi,
    /// The admin API (`/admin/api/…`): a user's token of Tessera's own sign-in (no
    /// client), or a first-party client's with the `tessera:admin` scope.
    Admin,
    /// `/oauth/userinfo` (OpenID Connect Core §5.3): any user's token; the endpoint then
    /// requires the `openid` scope.
    UserInfo,
}

/// The `aud` of a user token issued through `client` (none: Tessera's own sign-in).
pub fn of_user_token(state: &AppState, client: Option<&Client>) -> Audience {
    match client {
        None => Audience::One(state.settings.tokens.audience.clone()),
        Some(c) => with_granted(c.client_id.clone(), c),
    }
}

/// The `aud` of a client-credentials token of `client`.
pub fn of_service_token(state: &AppState, client: &Client) -> Audience {
    with_granted(state.settings.tokens.audience.clone(), client)
}

fn with_granted(first: String, client: &Client) -> Audience {
    let mut all = vec![first];
    for aud in &client.audiences {
        if !all.contains(aud) {
            all.push(aud.clone());
        }
    }
    if all.len() == 1 {
        Audience::One(all.swap_remove(0))
    } else {
        Audience::Many(all)
    }
}

/// Whether `surface` accepts a live token with these claims, issued to `client` (the
/// token's `client_id`, looked up; none for Tessera's own sign-in).
pub fn accepts(
    state: &AppState,
    surface: Surface,
    claims: &AccessClaims,
    client: Option<&Client>,
) -> bool {
    let audience = &state.settings.tokens.audience;
    let user = claims.user_id.is_some();
    // A user's token issued to a client is for Tessera's audience only while the client is
    // granted it (its `aud` alone could name it ungranted: a client whose id is that
    // audience, registered before such ids were refused).
    let ours = claims.aud.contains(audience)
        && match client {
            Some(c) if user => c.audiences.iter().any(|a| a == audience),
            _ => true,
        };
    match surface {
        Surface::Verify => ours,
        Surface::UserApi => ours && user,
        Surface::Admin => {
            user && match client {
                None => ours && claims.client_id.is_none(),
                Some(c) => c.first_party && claims.has_scope(ADMIN_SCOPE),
            }
        }
        Surface::UserInfo => user,
    }
}
