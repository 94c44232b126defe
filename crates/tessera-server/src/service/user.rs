//! Managing users (the CLI and the admin API) and showing them.
//!
//! Over 500 lines as one concept: [`Users`], every change an administrator makes to an
//! account and the checks that guard it (who may grant what), in one place.

use super::audit::Actor;
use super::password::{HashError, PasswordHasher};
use crate::domain::user::username_key;
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
    /// Access: roles, groups, services.
    pub access: Access,
    /// Whether the address is proven (false only for self-service sign-ups).
    pub email_verified: bool,
    /// The id to keep (imports from Django); `None`: the next free one.
    pub id: Option<i64>,
}

/// What a user may do, beyond the staff and superuser flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Role names.
    pub roles: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// Services (client ids, or the Django API's audience) the user may use; `None`: all.
    pub services: Option<Vec<String>>,
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

impl<'a> Users<'a> {
    /// The users of a running server.
    pub fn of(state: &'a crate::state::AppState) -> Self {
        Users {
            store: state.store.as_ref(),
            hasher: &state.hasher,
            clock: state.clock.as_ref(),
            min_password_len: state.settings.passwords.min_length,
        }
    }
}

impl Users<'_> {
    /// Creates a user after validating every field; the hash is written with the row.
    ///
    /// # Errors
    /// [`UserServiceError`].
    pub async fn create(
        &self,
        input: NewUserInput,
        actor: Actor,
    ) -> Result<User, UserServiceError> {
        let username = Username::parse(&input.username)?;
        let email = Email::parse(&input.email)?;
        // An e-mail address as username only for the account with that address. An
        // imported account (its id kept) keeps the username it had: logins resolve an
        // address to the account that has it first, so it shadows nobody.
        if input.id.is_none() {
            username.fits(&email)?;
        }
        let password_hash = match &input.password {
            PasswordInput::Clear(p) => {
                self.hash_new(p, &[username.as_str(), email.as_str()])
                    .await?
            }
            PasswordInput::Hashed(h) if self.hasher.is_supported_hash(h) => h.clone(),
            PasswordInput::Hashed(_) => return Err(UserServiceError::UnsupportedHash),
        };
        let user = NewUser {
            id: input.id,
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
            roles: names("roles", input.access.roles)?,
            groups: names("groups", input.access.groups)?,
            services: input
                .access
                .services
                .map(|s| names("services", s))
                .transpose()?,
            email_verified: input.email_verified,
            imported_id: input.id.is_some(),
        };
        let created = self.store.create_user(&user).await?;
        // Admin rights given at creation are said (an import can carry them).
        let rights = match (created.is_superuser, created.is_staff) {
            (true, _) => " (superuser)",
            (false, true) => " (staff)",
            (false, false) => "",
        };
        super::audit::event("user.created")
            .actor(actor)
            .subject(created.id)
            .detail(format!("{}{rights}", created.username))
            .record(self.store, self.clock.unix())
            .await;
        Ok(created)
    }

    /// Finds a user by username, or, when the argument contains `@`, by e-mail first (the
    /// address's owner, as logins resolve it), then by username.
    ///
    /// # Errors
    /// [`UserServiceError::NotFound`].
    pub async fn find(&self, who: &str) -> Result<User, UserServiceError> {
        super::login::lookup(self.store, who)
            .await?
            .ok_or(UserServiceError::NotFound)
    }

    /// Sets a new password and ends every session of the user.
    ///
    /// # Errors
    /// [`UserServiceError`].
    pub async fn set_password(
        &self,
        who: &str,
        password: &Secret,
        actor: Actor,
    ) -> Result<User, UserServiceError> {
        let user = self.find(who).await?;
        self.set_password_of(&user, password, actor).await?;
        Ok(user)
    }

    /// Enables or disables a user; disabling revokes all their tokens.
    ///
    /// # Errors
    /// [`UserServiceError::NotFound`].
    pub async fn set_active(
        &self,
        who: &str,
        active: bool,
        actor: Actor,
    ) -> Result<User, UserServiceError> {
        let user = self.find(who).await?;
        self.set_active_of(user, active, actor).await
    }

    /// The user with this id.
    ///
    /// # Errors
    /// [`UserServiceError::NotFound`].
    pub async fn get(&self, id: i64) -> Result<User, UserServiceError> {
        self.store
            .user_by_id(id)
            .await?
            .ok_or(UserServiceError::NotFound)
    }

    /// A page of users matching `search` (see [`Store::search_users`]) and the total.
    ///
    /// # Errors
    /// [`UserServiceError::Store`].
    pub async fn search(
        &self,
        search: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<User>, i64), UserServiceError> {
        Ok(self.store.search_users(search, offset, limit).await?)
    }

    /// Applies `patch` to the user `id`: profile fields in one update; `is_active` through
    /// [`Users::set_active_of`] (disabling revokes their tokens).
    ///
    /// # Errors
    /// [`UserServiceError`]: invalid values, a taken username or e-mail, no such user.
    pub async fn update(
        &self,
        id: i64,
        patch: UserPatch,
        actor: Actor,
    ) -> Result<User, UserServiceError> {
        let current = self.get(id).await?;
        let mut next = current.clone();
        if let Some(e) = patch.email {
            next.email = Email::parse(&e)?.as_str().to_owned();
        }
        match patch.username {
            Some(u) => {
                let username = Username::parse(&u)?;
                username.fits(&Email::parse(&next.email)?)?;
                next.username = username.as_str().to_owned();
            }
            // A username that was the old address follows the address: it would otherwise
            // be an address the account no longer has.
            None if next.email != current.email
                && username_key(&current.username) == username_key(&current.email) =>
            {
                next.username.clone_from(&next.email);
            }
            None => {}
        }
        next.first_name = patch.first_name.unwrap_or(next.first_name);
        next.last_name = patch.last_name.unwrap_or(next.last_name);
        next.is_staff = patch.is_staff.unwrap_or(next.is_staff);
        next.is_superuser = patch.is_superuser.unwrap_or(next.is_superuser);
        next.mfa_required = patch.mfa_required.unwrap_or(next.mfa_required);
        if let Some(r) = patch.roles {
            next.roles = names("roles", r)?;
        }
        if let Some(g) = patch.groups {
            next.groups = names("groups", g)?;
        }
        if let Some(s) = patch.services {
            next.services = s.map(|s| names("services", s)).transpose()?;
        }
        if next != current {
            if !self
                .store
                .update_user_profile(&next, self.clock.unix())
                .await?
            {
                return Err(UserServiceError::NotFound);
            }
            super::audit::event("user.updated")
                .actor(actor)
                .subject(id)
                .detail(changes(&current, &next))
                .record(self.store, self.clock.unix())
                .await;
        }
        match patch.is_active {
            Some(active) if active != next.is_active => {
                self.set_active_of(next, active, actor).await
            }
            _ => Ok(next),
        }
    }

    /// Deletes a user; their live tokens stop working at once.
    ///
    /// # Errors
    /// [`UserServiceError::NotFound`].
    pub async fn delete(&self, id: i64, actor: Actor) -> Result<(), UserServiceError> {
        if !self.store.delete_user(id, self.clock.unix()).await? {
            return Err(UserServiceError::NotFound);
        }
        super::audit::event("user.deleted")
            .actor(actor)
            .subject(id)
            .record(self.store, self.clock.unix())
            .await;
        Ok(())
    }

    /// Logs the user out everywhere (refresh families, their access tokens, SSO sessions).
    ///
    /// # Errors
    /// [`UserServiceError::NotFound`].
    pub async fn end_sessions(&self, id: i64, actor: Actor) -> Result<(), UserServiceError> {
        let user = self.get(id).await?;
        self.store
            .end_user_sessions(user.id, self.clock.unix())
            .await?;
        super::audit::event("user.logged_out")
            .actor(actor)
            .subject(id)
            .detail("every session ended")
            .record(self.store, self.clock.unix())
            .await;
        Ok(())
    }

    /// Sets a new password for `user` and ends every session of theirs.
    ///
    /// # Errors
    /// [`UserServiceError`].
    pub async fn set_password_of(
        &self,
        user: &User,
        password: &Secret,
        actor: Actor,
    ) -> Result<(), UserServiceError> {
        let hash = self
            .hash_new(password, &[user.username.as_str(), user.email.as_str()])
            .await?;
        self.store
            .set_password_hash(user.id, &hash, true, self.clock.unix())
            .await?;
        super::audit::event("user.password_set")
            .actor(actor)
            .subject(user.id)
            .detail("sessions ended")
            .record(self.store, self.clock.unix())
            .await;
        Ok(())
    }

    /// Enables or disables `user`; disabling revokes all their tokens.
    ///
    /// # Errors
    /// [`UserServiceError::Store`].
    pub async fn set_active_of(
        &self,
        user: User,
        active: bool,
        actor: Actor,
    ) -> Result<User, UserServiceError> {
        self.store
            .set_active(user.id, active, self.clock.unix())
            .await?;
        let kind = if active {
            "user.enabled"
        } else {
            "user.disabled"
        };
        super::audit::event(kind)
            .actor(actor)
            .subject(user.id)
            .record(self.store, self.clock.unix())
            .await;
        Ok(User {
            is_active: active,
            ..user
        })
    }

    async fn hash_new(
        &self,
        password: &Secret,
        names: &[&str],
    ) -> Result<String, UserServiceError> {
        self.policy().check(password.expose(), names)?;
        Ok(self.hasher.hash(password).await?)
    }

    /// The password policy these users are held to.
    pub fn policy(&self) -> super::password::policy::Policy {
        super::password::policy::Policy {
            min_chars: self.min_password_len,
            max_bytes: self.hasher.max_length(),
        }
    }
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New username.
    pub username: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// Enable or disable.
    pub is_active: Option<bool>,
    /// Staff flag.
    pub is_staff: Option<bool>,
    /// Superuser flag.
    pub is_superuser: Option<bool>,
    /// Replaces the roles.
    pub roles: Option<Vec<String>>,
    /// Replaces the groups.
    pub groups: Option<Vec<String>>,
    /// Replaces the services: `Some(None)` lifts the restriction.
    pub services: Option<Option<Vec<String>>>,
    /// Requires (or no longer requires) a second factor of the user.
    pub mfa_required: Option<bool>,
}

/// Checks a stored user from outside (an export file being imported) as creation checks a
/// new one: username, address, name lengths, role, group and service lists. Hashes are
/// checked by the caller against the cost ceiling.
///
/// # Errors
/// The first [`UserError`].
pub fn check_restored(user: &User) -> Result<(), UserError> {
    Username::parse(&user.username)?;
    Email::parse(&user.email)?;
    for name in [&user.first_name, &user.last_name] {
        if name.chars().count() > 150 || name.chars().any(char::is_control) {
            return Err(UserError::Record(format!(
                "first_name and last_name: at most 150 characters, no control characters (user {:?})",
                user.username
            )));
        }
    }
    names("roles", user.roles.clone())?;
    names("groups", user.groups.clone())?;
    if let Some(services) = &user.services {
        names("services", services.clone())?;
    }
    Ok(())
}

/// What an update changed, for the audit trail: rights first (old → new), then lists, then
/// the names of the profile fields changed (never their values, nor anything secret).
fn changes(before: &User, after: &User) -> String {
    let mut out = Vec::new();
    for (name, old, new) in [
        ("is_superuser", before.is_superuser, after.is_superuser),
        ("is_staff", before.is_staff, after.is_staff),
        ("mfa_required", before.mfa_required, after.mfa_required),
    ] {
        if old != new {
            out.push(format!("{name}: {old} → {new}"));
        }
    }
    if before.services != after.services {
        let show = |s: &Option<Vec<String>>| s.as_ref().map_or("all".into(), |l| l.join(","));
        out.push(format!(
            "services: {} → {}",
            show(&before.services),
            show(&after.services)
        ));
    }
    for (name, old, new) in [
        ("roles", &before.roles, &after.roles),
        ("groups", &before.groups, &after.groups),
    ] {
        if old != new {
            out.push(format!("{name}: [{}] → [{}]", old.join(","), new.join(",")));
        }
    }
    if before.username != after.username {
        out.push(format!(
            "username: {} → {}",
            before.username, after.username
        ));
    }
    for (name, changed) in [
        ("email", before.email != after.email),
        ("first_name", before.first_name != after.first_name),
        ("last_name", before.last_name != after.last_name),
    ] {
        if changed {
            out.push(name.to_owned());
        }
    }
    out.join("; ")
}

/// Checks a list of role, group or service names; drops duplicates, keeps the order.
fn names(what: &'static str, list: Vec<String>) -> Result<Vec<String>, UserError> {
    let ok = |n: &String| {
        !n.is_empty()
            && n.chars().count() <= 100
            && !n.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if list.len() > 100 || !list.iter().all(ok) {
        return Err(UserError::Names(what));
    }
    let mut seen = std::collections::HashSet::new();
    Ok(list
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect())
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
    let (_, viewer) = crate::service::token::authenticate_bearer(
        state,
        token,
        crate::service::audience::Surface::UserApi,
    )
    .await?;
    match target {
        Target::Me => Ok(viewer),
        Target::Id(id) if id == viewer.id => Ok(viewer),
        Target::Id(_) if !viewer.is_staff => Err(ReadError::PermissionDenied),
        Target::Id(id) => state.store.user_by_id(id).await?.ok_or(ReadError::NotFound),
    }
}
