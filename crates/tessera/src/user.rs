//! `tessera user …`

use crate::cli::{MfaCommand, UserCommand};
use crate::output::{self, Format};
use anyhow::{Context, bail};
use std::io::BufRead;
use tessera_proto::Secret;
use tessera_server::config::Settings;
use tessera_server::service::audit::Actor;
use tessera_server::service::password::PasswordHasher;
use tessera_server::service::user::{NewUserInput, PasswordInput, Users, view};
use tessera_server::store::{self, DynStore, User};
use tessera_token::SystemClock;

/// Everything a user command needs.
pub struct Tools {
    pub store: DynStore,
    pub hasher: PasswordHasher,
    pub min_password_len: usize,
}

impl Tools {
    /// Opens the configured store and builds the hasher.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            store: store::connect(&settings.database_url(), &settings.database).await?,
            hasher: PasswordHasher::new(&settings.passwords)?,
            min_password_len: settings.passwords.min_length,
        })
    }

    pub fn users(&self) -> Users<'_> {
        Users {
            store: self.store.as_ref(),
            hasher: &self.hasher,
            clock: &SystemClock,
            min_password_len: self.min_password_len,
        }
    }
}

pub async fn run(cmd: UserCommand, settings: &Settings, out: Format) -> anyhow::Result<()> {
    let ctx = Tools::open(settings).await?;
    let users = ctx.users();
    match cmd {
        UserCommand::Create {
            username,
            email,
            password_stdin: _,
            first_name,
            last_name,
            staff,
            superuser,
        } => {
            let input = NewUserInput {
                username,
                email,
                password: PasswordInput::Clear(read_password()?),
                first_name,
                last_name,
                is_staff: staff,
                is_superuser: superuser,
                is_active: true,
                date_joined: None,
                last_login: None,
                access: Default::default(),
                email_verified: true,
                id: None,
            };
            let user = users.create(input, Actor::Cli).await?;
            report(
                out,
                &format!("created user {} (id {})", user.username, user.id),
                &user,
            );
        }
        UserCommand::List => {
            let all = ctx.store.list_users().await?;
            match out {
                Format::Json => output::message(out, "", &all.iter().map(view).collect::<Vec<_>>()),
                Format::Text => print_table(&all),
            }
        }
        UserCommand::SetPassword {
            user,
            password_stdin: _,
        } => {
            let user = users
                .set_password(&user, &read_password()?, Actor::Cli)
                .await?;
            report(
                out,
                &format!(
                    "password of {} changed; their sessions have ended",
                    user.username
                ),
                &user,
            );
        }
        UserCommand::Disable { user } => {
            let user = users.set_active(&user, false, Actor::Cli).await?;
            report(
                out,
                &format!("disabled {}; their tokens are revoked", user.username),
                &user,
            );
        }
        UserCommand::Enable { user } => {
            let user = users.set_active(&user, true, Actor::Cli).await?;
            report(out, &format!("enabled {}", user.username), &user);
        }
        UserCommand::Import { file } => crate::import::run(&users, &file, out).await?,
        UserCommand::Mfa { command } => mfa(&ctx, command, out).await?,
    }
    Ok(())
}

/// `tessera user mfa …`
async fn mfa(ctx: &Tools, cmd: MfaCommand, out: Format) -> anyhow::Result<()> {
    use tessera_server::service::authn;
    use tessera_token::Clock as _;
    let users = ctx.users();
    match cmd {
        MfaCommand::Show { user } => {
            let user = users.find(&user).await?;
            let factors = authn::factors_in(ctx.store.as_ref(), user.id).await?;
            let json = serde_json::json!({
                "username": user.username,
                "mfa_required": user.mfa_required,
                "totp": factors.totp.map(|t| serde_json::json!({
                    "enrolled_at": t.enrolled_at, "last_used_at": t.last_used_at,
                })),
                "recovery_codes_left": factors.recovery.map(|r| r.remaining),
            });
            let text = format!(
                "{}: second factor {}; totp {}; recovery codes left {}",
                user.username,
                if user.mfa_required {
                    "required"
                } else {
                    "not required"
                },
                if factors.totp.is_some() {
                    "enrolled"
                } else {
                    "none"
                },
                factors.recovery.map_or(0, |r| r.remaining),
            );
            output::message(out, &text, &json);
        }
        MfaCommand::Reset { user } => {
            let user = users.find(&user).await?;
            let now = SystemClock.unix();
            if !authn::reset(ctx.store.as_ref(), now, &user, Actor::Cli).await? {
                bail!("no such user");
            }
            report(
                out,
                &format!(
                    "second factors of {} removed; their sessions have ended",
                    user.username
                ),
                &user,
            );
        }
        MfaCommand::Require { user, off } => {
            let found = users.find(&user).await?;
            let patch = tessera_server::service::user::UserPatch {
                mfa_required: Some(!off),
                ..Default::default()
            };
            let user = users.update(found.id, patch, Actor::Cli).await?;
            let text = if off {
                format!("{} no longer needs a second factor", user.username)
            } else {
                format!("{} must sign in with a second factor", user.username)
            };
            report(out, &text, &user);
        }
    }
    Ok(())
}

fn report(out: Format, text: &str, user: &User) {
    output::message(out, text, &view(user));
}

fn read_password() -> anyhow::Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(Secret::new(password))
}

fn print_table(users: &[User]) {
    println!(
        "{:>6}  {:<24} {:<32} {:<8} {:<6} {:<9}",
        "ID", "USERNAME", "EMAIL", "ACTIVE", "STAFF", "SUPERUSER"
    );
    for u in users {
        println!(
            "{:>6}  {:<24} {:<32} {:<8} {:<6} {:<9}",
            u.id, u.username, u.email, u.is_active, u.is_staff, u.is_superuser
        );
    }
}
