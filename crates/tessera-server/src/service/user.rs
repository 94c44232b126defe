//! Managing users (the CLI now, the admin API later) and showing them.

use super::password::{HashError, PasswordHasher};
use crate::domain::{Email, UserError, Username};
use crate::store::{NewUser, Store, StoreError, User};
use tessera_proto::{Secret, UserJson};
use tessera_token::Clock;
use time::OffsetDateTime;

/// A user management operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserServiceError {
    /// A value was refused.
    #[error(transparent)]
    Invalid(#[from] UserError),
    /// The username or e-mail is taken.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// A stored hash given for import is not one Tessera can verify.
    #[error("password_hash: neither an Argon2 PHC string nor a Django hash")]
    UnsupportedHash,
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for UserServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => Self::Conflict(field),
            other => Self::Store(other),
        }
    }
}

/// The password of a new user: a clear password to hash, or a hash to keep (imports).
#[derive(Debug, Clone)]
pub enum PasswordInput {
    /// Hash this.
    Clear(Secret),
    /// Keep this Argon2 PHC string.
    Hashed(String),
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUserInput {
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: PasswordInput,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Active flag.
    pub is_active: bool,
    /// When the user joined, if known (imports); now otherwise.
    pub date_joined: Option<OffsetDateTime>,
    /// Last login, if known (imports).
    pub last_login: Option<OffsetDateTime>,
}

/// What the user service needs.
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Hasher.
    pub hasher: &'a PasswordHasher,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Minimum length of a new password.
    pub min_password_len: usize,
}

impl Users<'_> {
    /// Creates a user after validating every field; the hash is written with the row.
    ///
    /// # Errors
    /// [`UserServiceError`].
    pub async fn create(&self, input: NewUserInput) -> Result<User, UserServiceError> {
        let username = Username::parse(&input.username)?;
        let email = Email::parse(&input.email)?;
        let password_hash = match &input.password {
            PasswordInput::Clear(p) => self.hash_new(p).await?,
            PasswordInput::Hashed(h) if PasswordHasher::is_supported_hash(h) => h.clone(),
            PasswordInput::Hashed(_) => return Err(UserServiceError::UnsupportedHash),
        };
        let user = NewUser {
            username: username.as_str().to_owned(),
            email: email.as_str().to_owned(),
            password_hash,
            first_name: input.first_name,
            last_name: input.last_name,
            is_active: input.is_active,
            is_staff: input.is_staff,
            is_superuser: input.is_superuser,
            date_joined: crate::store::stored_time(
                input
                    .date_joined
                    .map_or_else(|| self.clock.now(), Into::into),
            ),
            last_login: input
                .last_login
                .map(|t| crate::store::stored_time(t.into())),
        };
        let created = self.store.create_user(&user).await?;
        super::audit::event("user.created")
            .subject(created.id)
            .detail(&created.username)
            .record(self.store, self.clock.unix())
            .await;
        Ok(created)
    }

    /// Finds a user by username, or by e-mail when the argument contains `@`.
    ///
    /// # Errors
    /// [`UserServiceError::NotFound`].
    pub async fn find(&self, who: &str) -> Result<User, UserServiceError> {
        let found = match self.store.user_by_username(who).await? {
            Some(u) => Some(u),
            None if who.contains('@') => self.store.user_by_email(who).await?,
            None => None,
        };
        found.ok_or(UserServiceError::NotFound)
    }

    /// Sets a new password and ends every session of the user.
    ///
    /// # Errors
    /// [`UserServiceError`].
    pub async fn set_password(
        &self,
        who: &str,
        password: &Secret,
    ) -> Result<User, UserServiceError> {
        let user = self.find(who).await?;
        let hash = self.hash_new(password).await?;
        self.store
            .set_password_hash(user.id, &hash, true, self.clock.unix())
            .await?;
        super::audit::event("user.password_set")
            .subject(user.id)
            .detail("sessions ended")
            .record(self.store, self.clock.unix())
            .await;
        Ok(user)
    }

    /// Enables or disables a user; disabling revokes all their tokens.
    ///
    /// # Errors
    /// [`UserServiceError::NotFound`].
    pub async fn set_active(&self, who: &str, active: bool) -> Result<User, UserServiceError> {
        let user = self.find(who).await?;
        self.store
            .set_active(user.id, active, self.clock.unix())
            .await?;
        let kind = if active {
            "user.enabled"
        } else {
            "user.disabled"
        };
        super::audit::event(kind)
            .subject(user.id)
            .record(self.store, self.clock.unix())
            .await;
        Ok(User {
            is_active: active,
            ..user
        })
    }

    async fn hash_new(&self, password: &Secret) -> Result<String, UserServiceError> {
        if password.expose().chars().count() < self.min_password_len {
            return Err(UserError::PasswordTooShort {
                min: self.min_password_len,
            }
            .into());
        }
        Ok(self.hasher.hash(password).await?)
    }
}

/// The API view of a user (ISO 8601 times).
pub fn view(user: &User) -> UserJson {
    UserJson {
        id: user.id,
        username: user.username.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        date_joined: iso8601(user.date_joined),
        last_login: user.last_login.map(iso8601),
        is_active: user.is_active,
        is_staff: user.is_staff,
        is_superuser: user.is_superuser,
    }
}

/// ISO 8601 in UTC with microseconds, as Django REST framework writes datetimes.
fn iso8601(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// Which user a reader asks for.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The token's own user.
    Me,
    /// A user by id.
    Id(i64),
}

/// Reading a user failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The bearer token is not valid.
    #[error(transparent)]
    Token(#[from] crate::service::token::TokenError),
    /// A non-staff user asked for someone else.
    #[error("permission denied")]
    PermissionDenied,
    /// No such user (only staff learn this).
    #[error("not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a user for the holder of `token`: anyone may read themselves, staff anyone.
///
/// # Errors
/// [`ReadError`].
pub async fn read(
    state: &crate::state::AppState,
    token: &Secret,
    target: Target,
) -> Result<User, ReadError> {
    let (_, viewer) = crate::service::token::authenticate_bearer(state, token).await?;
    match target {
        Target::Me => Ok(viewer),
        Target::Id(id) if id == viewer.id => Ok(viewer),
        Target::Id(_) if !viewer.is_staff => Err(ReadError::PermissionDenied),
        Target::Id(id) => state.store.user_by_id(id).await?.ok_or(ReadError::NotFound),
    }
}
