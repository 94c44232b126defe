//! OAuth clients as registered.

use serde::{Deserialize, Serialize};

/// An OAuth client as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// Public identifier.
    pub client_id: String,
    /// Name shown to users.
    pub name: String,
    /// Hex SHA-256 of the secret (a confidential client), or none (a public client).
    pub secret_hash: Option<String>,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Grant types it may use.
    pub grants: Vec<crate::domain::GrantType>,
    /// Scopes it may ask for.
    pub scopes: Vec<String>,
    /// Trusted (skips consent; may use the password grant when allowed).
    pub first_party: bool,
    /// Access token lifetime override, seconds.
    pub access_lifetime: Option<i64>,
    /// Refresh token lifetime override, seconds.
    pub refresh_lifetime: Option<i64>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// The algorithm its ID tokens are signed with (`id_token_signed_response_alg`);
    /// `None`: the server's `tokens.algorithm`.
    #[serde(default)]
    pub id_token_alg: Option<String>,
    /// Audiences its user tokens carry beside its own client id (granted by a superuser:
    /// the Django API's `[tokens] audience` makes them usable there and at the services
    /// that verify that audience).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Where an RP-initiated logout may return to (`post_logout_redirect_uris`), matched
    /// exactly.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Whether its logout tokens must carry `sid` (they always do).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// The page the logged-out page loads in an iframe (Front-Channel Logout 1.0).
    #[serde(default)]
    pub frontchannel_logout_uri: Option<String>,
    /// Whether that page wants `iss` and `sid` (it always gets them).
    #[serde(default)]
    pub frontchannel_logout_session_required: bool,
    /// Whether its authorization requests must be pushed first (RFC 9126).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// The public keys its request objects are signed with, a JWKS document (`jwks`).
    #[serde(default)]
    pub jwks: Option<String>,
    /// Where those keys are published instead (`jwks_uri`).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// The only algorithm its request objects may use (`request_object_signing_alg`;
    /// `none` allows unsigned ones).
    #[serde(default)]
    pub request_object_signing_alg: Option<String>,
    /// Whether every authorization request must be a signed request object (RFC 9101
    /// §10.5).
    #[serde(default)]
    pub require_signed_request_object: bool,
    /// Every user signing in to this client must use a second factor.
    #[serde(default)]
    pub require_mfa: bool,
}
