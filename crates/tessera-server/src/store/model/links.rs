//! Single-use links mailed to users, and the sign-up a verification link carries.

/// What a mailed link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Proves the address of a new account.
    Verify,
    /// Lets the holder set a new password.
    Reset,
    /// Moves the account to the address it was sent to.
    Email,
    /// A purpose this version does not know (written by a newer one): the row still reads,
    /// and such a link is never redeemed.
    Unknown,
}

impl LinkPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::Email => "email",
            Self::Unknown => "unknown",
        }
    }
}

impl From<String> for LinkPurpose {
    fn from(s: String) -> Self {
        [Self::Verify, Self::Reset, Self::Email]
            .into_iter()
            .find(|p| p.as_str() == s)
            .unwrap_or(Self::Unknown)
    }
}

/// A single-use link sent by e-mail.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserLink {
    /// SHA-256 (hex) of the token in the link.
    pub token_hash: String,
    /// Whose.
    pub user_id: i64,
    /// What following it does.
    #[sqlx(try_from = "String")]
    pub purpose: LinkPurpose,
    /// The address an `email` link sets.
    pub new_email: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// A `verify` link's sign-up: what following it activates (the pending account's own
    /// values otherwise).
    #[sqlx(flatten)]
    pub signup: PendingSignup,
}

/// What one sign-up chose, carried by its verification link: the hash of its password,
/// its username and names. `None` everywhere for other links.
#[derive(Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingSignup {
    /// Argon2id PHC string of the chosen password.
    pub password_hash: Option<String>,
    /// The chosen username.
    pub username: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
}

impl std::fmt::Debug for PendingSignup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignup")
            .field("password_hash", &self.password_hash.as_ref().map(|_| "…"))
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}
