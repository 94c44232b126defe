//! Users as stored, and a user to insert.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
pub struct User {
    /// Integer id.
    pub id: i64,
    /// Unique username.
    pub username: String,
    /// Unique (case-insensitive) e-mail.
    pub email: String,
    /// PHC string (Argon2id).
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// May log in and hold tokens.
    pub is_active: bool,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub date_joined: OffsetDateTime,
    /// Last successful login.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
    /// Role names (carried in access tokens when `[tokens] user_claims` has `roles`).
    #[sqlx(json)]
    #[serde(default)]
    pub roles: Vec<String>,
    /// Group names (`groups` claim).
    #[sqlx(json, rename = "group_names")]
    #[serde(default)]
    pub groups: Vec<String>,
    /// The services (OAuth client ids, or the Django API's audience) this user may get
    /// tokens for; `None`: every service.
    #[sqlx(json(nullable))]
    #[serde(default)]
    pub services: Option<Vec<String>>,
    /// The user proved the address (sign-up link); users made by an admin, the CLI or an
    /// import count as verified.
    #[serde(default = "verified")]
    pub email_verified: bool,
    /// How many times every session of this user was ended (log out everywhere, a
    /// password set, a disable). Tokens carry the epoch they were issued in; one of an
    /// earlier epoch is refused.
    #[serde(default)]
    pub session_epoch: i64,
    /// The account holds the id it had in the system it was imported from, so that
    /// system's tokens may name it during a legacy window (`[legacy]`). An export made
    /// before this field existed gives its users the benefit of the doubt, as the
    /// migration did.
    #[serde(default = "verified")]
    pub imported_id: bool,
    /// An admin requires a second factor of this user.
    #[serde(default)]
    pub mfa_required: bool,
}

pub(super) fn verified() -> bool {
    true
}

impl User {
    /// A short digest of what a resource service copies of this user (every field of
    /// `/auth/users/{id}/` but `last_login` and the password): the access token's `uv`
    /// claim, so shadow copies refresh exactly when the user changed.
    pub fn profile_version(&self) -> String {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for field in [
            self.username.as_bytes(),
            self.email.as_bytes(),
            self.first_name.as_bytes(),
            self.last_name.as_bytes(),
        ] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field);
        }
        ctx.update(&self.id.to_be_bytes());
        ctx.update(&[
            u8::from(self.is_active),
            u8::from(self.is_staff),
            u8::from(self.is_superuser),
        ]);
        ctx.update(&self.date_joined.unix_timestamp_nanos().to_be_bytes());
        let digest = ctx.finish();
        crate::domain::digest::hex(&digest.as_ref()[..5])
    }
}

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The id to keep (an import from Django keeps Django's); `None`: the next free one.
    pub id: Option<i64>,
    /// Validated username.
    pub username: String,
    /// Validated e-mail.
    pub email: String,
    /// PHC string.
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Active flag.
    pub is_active: bool,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Creation time.
    pub date_joined: OffsetDateTime,
    /// Last login (imports bring it along; `None` for new users).
    pub last_login: Option<OffsetDateTime>,
    /// Role names.
    pub roles: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// Services the user may use; `None`: all.
    pub services: Option<Vec<String>>,
    /// Whether the address is proven.
    pub email_verified: bool,
    /// The id is the one the account had in the system it was imported from.
    pub imported_id: bool,
}
