//! Self-service: sign-up with e-mail verification, password reset by e-mail, and, for a
//! logged-in user, changing the password (current one required) or the e-mail address
//! (verified at the new address).
//!
//! Sign-up and reset requests answer the same way, at once, whether or not an account
//! exists: the lookup, the hashing, the write and the mail happen in a background task
//! after the answer, so neither the body nor the timing tells (see `BENCHMARKS.md`).
//!
//! Over 500 lines as one concept: the self-service use cases of an account (sign-up,
//! verification, reset, e-mail change, own password), which share the link and mail rules.

use super::audit::Actor;
use super::links::{self, Purpose};
use super::login::{self, LoginError, LoginId};
use super::token::TokenError;
use super::user::{Access, NewUserInput, PasswordInput, UserServiceError, Users};
use crate::domain::{Email, UserError, Username};
use crate::state::AppState;
use crate::store::{PendingSignup, StoreError};
use tessera_proto::Secret;

/// A self-service request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// `[signup] enabled` is off.
    #[error("sign-up is disabled")]
    SignupClosed,
    /// No `[mail] smtp_url`: nothing can be sent.
    #[error("e-mail is not configured")]
    NoMail,
    /// A value was refused (address, username, password policy).
    #[error(transparent)]
    Invalid(#[from] UserError),
    /// The link is unknown, used or expired.
    #[error("this link is invalid or has expired")]
    BadLink,
    /// The current password is wrong.
    #[error("current_password: wrong password")]
    WrongPassword,
    /// Redeeming a link hit a value taken since it was mailed (`username`, `email`).
    #[error("{0}: taken since this link was sent; start again with another")]
    Taken(&'static str),
    /// A sign-up link followed without the password that sign-up chose.
    #[error("password: not the password chosen when signing up with this link")]
    NotTheSignupPassword,
    /// Too many wrong passwords.
    #[error(transparent)]
    Login(LoginError),
    /// Too many mail-sending requests from this address.
    #[error("too many requests")]
    Throttled(super::throttle::Wait),
    /// The bearer token is not valid.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Creating or changing the user failed.
    #[error(transparent)]
    Users(#[from] UserServiceError),
    /// A second factor could not be enrolled, used or removed.
    #[error(transparent)]
    Authn(#[from] crate::service::authn::AuthnError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A sign-up.
#[derive(Debug, Clone)]
pub struct Signup {
    /// Username; the e-mail address when absent.
    pub username: Option<String>,
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: Secret,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
}

/// Checks a sign-up and, in the background, creates the account (unverified) and mails
/// the verification link; an address that has an account gets a note instead.
///
/// # Errors
/// [`AccountError::SignupClosed`], [`AccountError::Invalid`] (input only: never whether
/// the account exists).
pub async fn signup(
    state: &AppState,
    input: Signup,
    ip: std::net::IpAddr,
) -> Result<(), AccountError> {
    if !state.settings.signup.enabled {
        return Err(AccountError::SignupClosed);
    }
    if state.mailer.is_none() {
        return Err(AccountError::NoMail);
    }
    let email = Email::parse(&input.email)?;
    let username = Username::parse(input.username.as_deref().unwrap_or(email.as_str()))?;
    username.fits(&email)?;
    let allowed = &state.settings.signup.allowed_domains;
    let domain = email.as_str().rsplit_once('@').map_or("", |(_, d)| d);
    if !allowed.is_empty() && !allowed.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(UserError::DomainNotAllowed.into());
    }
    Users::of(state).policy().check(
        input.password.expose(),
        &[username.as_str(), email.as_str()],
    )?;
    mail_allowed(state, ip).await?;
    let input = Signup {
        username: Some(username.as_str().to_owned()),
        email: email.as_str().to_owned(),
        ..input
    };
    background(state, "sign-up", |state| async move {
        create_account(&state, input).await
    });
    Ok(())
}

/// Creates the pending account without a usable password and mails a link carrying this
/// sign-up's choices; for an address with a pending account already, only the link: the
/// sign-up whose link the mailbox owner follows is the one that counts (no pre-hijacking
/// by signing up first with someone else's address).
async fn create_account(state: &AppState, input: Signup) -> Result<(), String> {
    let users = Users::of(state);
    let email = input.email.clone();
    let username = input.username.clone().unwrap_or_default();
    // A username another account has: a note, nothing made (nor hashed).
    if state
        .store
        .user_by_username(&username)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return username_taken(state, &email).await;
    }
    let chosen = PendingSignup {
        password_hash: Some(
            state
                .hasher
                .hash(&input.password)
                .await
                .map_err(|e| e.to_string())?,
        ),
        username: Some(username.clone()),
        first_name: Some(input.first_name.clone()),
        last_name: Some(input.last_name.clone()),
    };
    // The pending account holds the address only: its username is a placeholder until a
    // link applies the one chosen, so an unconfirmed sign-up reserves no name.
    let placeholder = format!(
        "pending.{}",
        super::sso::authorize::random_token()
            .map_err(|e| e.to_string())?
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(20)
            .collect::<String>()
    );
    let created = users
        .create(
            NewUserInput {
                username: placeholder,
                email: input.email,
                // Django's unusable password: only a followed link sets one.
                password: PasswordInput::Hashed("!".into()),
                first_name: input.first_name,
                last_name: input.last_name,
                is_staff: false,
                is_superuser: false,
                is_active: true,
                date_joined: None,
                last_login: None,
                access: Access::default(),
                email_verified: false,
                id: None,
            },
            Actor::SelfService,
        )
        .await;
    let user = match created {
        Ok(user) => user,
        Err(UserServiceError::Conflict(_)) => return conflict_note(state, &email, chosen).await,
        Err(e) => return Err(e.to_string()),
    };
    send_verification(state, user.id, &email, chosen).await
}

/// The address has an account: a pending one gets a link with this sign-up's choices; a
/// verified one, a note.
async fn conflict_note(state: &AppState, email: &str, chosen: PendingSignup) -> Result<(), String> {
    match state.store.user_by_email(email).await {
        Ok(Some(existing)) if !existing.email_verified => {
            send_verification(state, existing.id, email, chosen).await
        }
        Ok(Some(_)) => {
            let body = format!(
                "Someone, perhaps you, tried to sign up at {issuer} with this address, which \
                 already has an account.\n\nIf you forgot your password, reset it from the \
                 login page. If it was not you, ignore this message.\n",
                issuer = state.issuer
            );
            mail(state, email, "You already have an account", body).await
        }
        Ok(None) => Err("sign-up conflict without an account for the address".into()),
        Err(e) => Err(e.to_string()),
    }
}

async fn username_taken(state: &AppState, email: &str) -> Result<(), String> {
    let body = format!(
        "Someone, perhaps you, tried to sign up at {issuer} with this address, but the \
         username is taken. Sign up again with another one.\n",
        issuer = state.issuer
    );
    mail(state, email, "Sign-up not completed", body).await
}

async fn send_verification(
    state: &AppState,
    user_id: i64,
    email: &str,
    chosen: PendingSignup,
) -> Result<(), String> {
    let token = links::issue_signup(state, user_id, chosen)
        .await
        .map_err(|e| e.to_string())?;
    let body = format!(
        "Confirm your address to finish signing up at {issuer}:\n\n{url}\n\nThe link works \
         once, for {hours} hours.\n",
        issuer = state.issuer,
        url = links::url(state, "verify", &token),
        hours = state.settings.mail.verify_lifetime.as_secs() / 3600,
    );
    mail(state, email, "Confirm your e-mail address", body).await
}

/// What a verification or e-mail change link will do, shown before it is used (a GET of
/// the link changes nothing: mail scanners and previews fetch links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkView {
    /// A sign-up: following it needs the password that sign-up chose.
    Signup {
        /// The username the sign-up chose.
        username: String,
    },
    /// An older verification link without a sign-up's choices.
    Verify,
    /// An e-mail change of `username` to `new_email`.
    Email {
        /// Whose.
        username: String,
        /// The address it moves to.
        new_email: String,
    },
}

/// What the link behind `token` does, without using it.
///
/// # Errors
/// [`AccountError::BadLink`], [`AccountError::Store`].
pub async fn view_link(state: &AppState, token: &str) -> Result<LinkView, AccountError> {
    if let Some(link) = links::peek(state, token, Purpose::Verify).await? {
        return Ok(match link.signup.username {
            Some(username) if link.signup.password_hash.is_some() => LinkView::Signup { username },
            _ => LinkView::Verify,
        });
    }
    if let Some(link) = links::peek(state, token, Purpose::Email).await? {
        let username = state
            .store
            .user_by_id(link.user_id)
            .await?
            .map(|u| u.username)
            .ok_or(AccountError::BadLink)?;
        return Ok(LinkView::Email {
            username,
            new_email: link.new_email.unwrap_or_default(),
        });
    }
    Err(AccountError::BadLink)
}

/// Uses a verification or e-mail change link. A sign-up's link needs the password that
/// sign-up chose: whoever follows a link mailed after someone else's sign-up for their
/// address (the mailbox owner) cannot activate credentials they did not choose, and the
/// one who chose them never sees the link.
///
/// # Errors
/// [`AccountError::BadLink`], [`AccountError::NotTheSignupPassword`],
/// [`AccountError::Throttled`] (guesses at a sign-up's password), [`AccountError::Taken`]
/// (a username or address taken since the link was mailed), [`AccountError::Store`].
pub async fn verify(
    state: &AppState,
    token: &str,
    password: Option<&Secret>,
    ip: std::net::IpAddr,
) -> Result<(), AccountError> {
    // An e-mail change tells the old address, read before the link replaces it.
    let old_email = match links::peek(state, token, Purpose::Email).await? {
        Some(link) => state.store.user_by_id(link.user_id).await?.map(|u| u.email),
        None => None,
    };
    if let Some(link) = links::peek(state, token, Purpose::Verify).await?
        && let Some(chosen) = &link.signup.password_hash
    {
        let given = password.ok_or(AccountError::NotTheSignupPassword)?;
        // Guesses at a sign-up's password count like failed logins of that account.
        let mut attempt = super::throttle::Attempt::new(Some(link.user_id), "", ip);
        if let Some(wait) = super::throttle::check(state, &mut attempt).await? {
            return Err(AccountError::Throttled(wait));
        }
        let verdict = state
            .hasher
            .verify(given, Some(chosen))
            .await
            .map_err(|e| AccountError::Login(LoginError::Hash(e)))?;
        if !verdict.matches {
            super::throttle::failed(state, &attempt).await?;
            return Err(AccountError::NotTheSignupPassword);
        }
    }
    for purpose in [Purpose::Verify, Purpose::Email] {
        let redeemed = match links::redeem(state, token, purpose).await {
            Err(StoreError::Conflict(field)) => return Err(AccountError::Taken(field)),
            other => other?,
        };
        if let Some(link) = redeemed {
            if let (Purpose::Email, Some(old), Some(new)) =
                (purpose, old_email.clone(), link.new_email.clone())
            {
                notify_email_changed(state, old, new);
            }
            let (kind, detail) = match (purpose, &link.signup.username) {
                (Purpose::Verify, Some(username)) => (
                    "user.email_verified",
                    format!("sign-up completed as {username}; password set"),
                ),
                (Purpose::Verify, None) => ("user.email_verified", String::new()),
                _ => (
                    "user.email_changed",
                    link.new_email.clone().unwrap_or_default(),
                ),
            };
            super::audit::event(kind)
                .actor(Actor::SelfService)
                .subject(link.user_id)
                .detail(detail)
                .record(state.store.as_ref(), state.clock.unix())
                .await;
            return Ok(());
        }
    }
    Err(AccountError::BadLink)
}

/// Tells the old address that the account moved to `new` (after the answer): the owner of
/// the old address learns of a change they did not make.
fn notify_email_changed(state: &AppState, old: String, new: String) {
    background(state, "e-mail change notice", move |state| async move {
        let body = format!(
            "The e-mail address of your account at {issuer} was changed to {new}, and every \
             session of the account was ended.\n\nIf you did not do this, contact your \
             administrator.\n",
            issuer = state.issuer,
        );
        mail(&state, &old, "Your e-mail address was changed", body).await
    });
}

/// Mails a reset link to `email` if an active account has it; answers the same at once
/// either way.
///
/// # Errors
/// [`AccountError::NoMail`].
pub async fn request_reset(
    state: &AppState,
    email: &str,
    ip: std::net::IpAddr,
) -> Result<(), AccountError> {
    if state.mailer.is_none() {
        return Err(AccountError::NoMail);
    }
    mail_allowed(state, ip).await?;
    let email = email.trim().to_owned();
    background(state, "password reset", |state| async move {
        let Some(user) = state
            .store
            .user_by_email(&email)
            .await
            .map_err(|e| e.to_string())?
            .filter(|u| u.is_active)
        else {
            return Ok(());
        };
        let token = links::issue(&state, user.id, Purpose::Reset, None)
            .await
            .map_err(|e| e.to_string())?;
        let body = format!(
            "Someone, perhaps you, asked to reset the password of {username} at {issuer}. \
             Choose a new one here:\n\n{url}\n\nThe link works once, for {minutes} minutes; \
             using it logs you out everywhere. If it was not you, ignore this message.\n",
            username = user.username,
            issuer = state.issuer,
            url = links::url(&state, "reset", &token),
            minutes = state.settings.mail.reset_lifetime.as_secs() / 60,
        );
        mail(&state, &user.email, "Reset your password", body).await
    });
    Ok(())
}

/// Sets a new password through a reset link: the password is checked before the link is
/// used up; then every session and refresh family of the user ends, and the address counts
/// as verified (the link reached it).
///
/// # Errors
/// [`AccountError::BadLink`], [`AccountError::Invalid`] (policy), [`AccountError::Users`].
pub async fn confirm_reset(
    state: &AppState,
    token: &str,
    password: &Secret,
) -> Result<(), AccountError> {
    let users = Users::of(state);
    let link = links::peek(state, token, Purpose::Reset)
        .await?
        .ok_or(AccountError::BadLink)?;
    let user = users.get(link.user_id).await?;
    users
        .policy()
        .check(password.expose(), &[&user.username, &user.email])?;
    links::redeem(state, token, Purpose::Reset)
        .await?
        .ok_or(AccountError::BadLink)?;
    users
        .set_password_of(&user, password, Actor::SelfService)
        .await?;
    Ok(())
}

/// Changes the password of the token's user, who must give the current one (checked and
/// throttled like a login). Every session ends, this one too.
///
/// # Errors
/// [`AccountError`].
pub async fn change_password(
    state: &AppState,
    bearer: &Secret,
    ip: std::net::IpAddr,
    current: &Secret,
    new: &Secret,
) -> Result<(), AccountError> {
    let user = confirm_password(state, bearer, ip, current).await?;
    Users::of(state)
        .set_password_of(&user, new, Actor::User(user.id))
        .await?;
    Ok(())
}

/// Mails a link to `new_email` that moves the account there; answers the same whether the
/// address is free or taken.
///
/// # Errors
/// [`AccountError`].
pub async fn change_email(
    state: &AppState,
    bearer: &Secret,
    ip: std::net::IpAddr,
    current: &Secret,
    new_email: &str,
) -> Result<(), AccountError> {
    if state.mailer.is_none() {
        return Err(AccountError::NoMail);
    }
    let user = confirm_password(state, bearer, ip, current).await?;
    let email = Email::parse(new_email)?.as_str().to_owned();
    mail_allowed(state, ip).await?;
    background(state, "e-mail change", move |state| async move {
        // Taken by an account (a sign-up nobody confirmed does not count: the move
        // removes it).
        if state
            .store
            .user_by_email(&email)
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|holder| holder.email_verified || holder.password_hash != "!")
        {
            return Ok(());
        }
        let token = links::issue(&state, user.id, Purpose::Email, Some(&email))
            .await
            .map_err(|e| e.to_string())?;
        let body = format!(
            "Confirm that {username} at {issuer} should use this address from now on:\n\n\
             {url}\n\nThe link works once. If it was not you, ignore this message.\n",
            username = user.username,
            issuer = state.issuer,
            url = links::url(&state, "verify", &token),
        );
        mail(&state, &email, "Confirm your new e-mail address", body).await
    });
    Ok(())
}

/// The bearer's user, when `password` is theirs (counted in the login throttle).
///
/// # Errors
/// [`AccountError`].
pub(crate) async fn confirm_password(
    state: &AppState,
    bearer: &Secret,
    ip: std::net::IpAddr,
    password: &Secret,
) -> Result<crate::store::User, AccountError> {
    let (_, user) =
        super::token::authenticate_bearer(state, bearer, super::audience::Surface::UserApi).await?;
    check_password_of(state, &user, ip, password).await
}

/// `user` as now stored, when `password` is theirs (counted in the login throttle).
///
/// # Errors
/// [`AccountError::WrongPassword`], throttling, store failures.
pub(crate) async fn check_password_of(
    state: &AppState,
    user: &crate::store::User,
    ip: std::net::IpAddr,
    password: &Secret,
) -> Result<crate::store::User, AccountError> {
    // By address (unique, and what a login by address resolves first): the token's own
    // account, whatever its username looks like.
    match login::authenticate(state, &LoginId::Email(user.email.clone()), password, ip).await {
        Ok(found) if found.id == user.id => Ok(found),
        Ok(_) => Err(AccountError::WrongPassword),
        Err(LoginError::NoActiveAccount) => Err(AccountError::WrongPassword),
        Err(e) => Err(AccountError::Login(e)),
    }
}

/// The per-IP allowance of mail-sending requests.
async fn mail_allowed(state: &AppState, ip: std::net::IpAddr) -> Result<(), AccountError> {
    match super::throttle::mail_request(state, ip).await? {
        Some(wait) => Err(AccountError::Throttled(wait)),
        None => Ok(()),
    }
}

async fn mail(state: &AppState, to: &str, subject: &str, body: String) -> Result<(), String> {
    let mailer = state.mailer.as_ref().ok_or("e-mail is not configured")?;
    mailer
        .send(to, subject, body)
        .await
        .map_err(|e| e.to_string())?;
    state.metrics.mails_sent.inc();
    Ok(())
}

/// Runs `work` after the answer; failures are logged (without addresses or tokens). The
/// task carries the request's span, so its log lines keep the request id.
fn background<F, Fut>(state: &AppState, what: &'static str, work: F)
where
    F: FnOnce(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    use tracing::Instrument as _;
    let state = state.clone();
    tokio::spawn(
        async move {
            if let Err(error) = work(state).await {
                tracing::warn!(%error, "{what} could not be completed");
            }
        }
        .instrument(tracing::Span::current()),
    );
}
