//! `tessera user import FILE`: users from a JSON array or a CSV file.

use crate::output::{self, Format};
use anyhow::Context;
use futures_util::StreamExt;
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;
use tessera_proto::Secret;
use tessera_server::service::audit::Actor;
use tessera_server::service::user::{NewUserInput, PasswordInput, UserServiceError, Users};

/// One record of the file.
#[derive(Debug, Deserialize)]
struct Record {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default, deserialize_with = "flag")]
    is_staff: bool,
    #[serde(default, deserialize_with = "flag")]
    is_superuser: bool,
    #[serde(default = "yes", deserialize_with = "flag")]
    is_active: bool,
}

fn yes() -> bool {
    true
}

/// A boolean as JSON `true`/`false` or CSV text (`true`, `1`, `yes`, empty for false).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        // CSV guesses types: `1` arrives as a number.
        Number(i64),
        Text(String),
    }
    match Flag::deserialize(d)? {
        Flag::Bool(b) => Ok(b),
        Flag::Number(n) => Ok(n != 0),
        Flag::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "t" => Ok(true),
            "false" | "0" | "no" | "n" | "f" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "not a boolean: {other:?}"
            ))),
        },
    }
}

/// What happened to each record.
#[derive(Debug, Default, Serialize)]
struct Summary {
    created: usize,
    skipped: usize,
    refused: usize,
    errors: Vec<String>,
    /// Users created with the staff or superuser flag, named: an import that hands out
    /// admin rights says so.
    privileged: Vec<String>,
}

pub async fn run(users: &Users<'_>, file: &Path, out: Format) -> anyhow::Result<()> {
    let inputs = read(file)?
        .into_iter()
        .map(|r| r.and_then(Record::into_input))
        .collect();
    create_all(users, inputs, out).await;
    Ok(())
}

/// Creates every user (four at a time) with a progress bar on a terminal, then prints the
/// summary: created, skipped (the username or e-mail exists: a second run skips all),
/// refused with the reason per record.
pub async fn create_all(
    users: &Users<'_>,
    records: Vec<Result<NewUserInput, String>>,
    out: Format,
) {
    let bar = match out {
        Format::Text => indicatif::ProgressBar::new(records.len() as u64),
        Format::Json => indicatif::ProgressBar::hidden(),
    };
    let mut summary = Summary::default();
    let mut results = futures_util::stream::iter(records.into_iter().enumerate())
        .map(|(i, record)| async move {
            let (result, privileged) = match record {
                Ok(input) => {
                    let privileged = privilege(&input);
                    (create_one(users, input).await, privileged)
                }
                Err(e) => (Err(UserServiceError::Invalid(invalid_record(e))), None),
            };
            (i + 1, result, privileged)
        })
        .buffer_unordered(4);
    while let Some((line, result, privileged)) = results.next().await {
        match result {
            Ok(()) => {
                summary.created += 1;
                summary.privileged.extend(privileged);
            }
            Err(UserServiceError::Conflict(_)) => summary.skipped += 1,
            Err(e) => {
                summary.refused += 1;
                summary.errors.push(format!("record {line}: {e}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    summary.errors.sort();
    summary.privileged.sort();
    let privileged = if summary.privileged.is_empty() {
        String::new()
    } else {
        format!("\nwith admin rights: {}", summary.privileged.join(", "))
    };
    let text = format!(
        "created {}, skipped {} (already exist), refused {} (invalid){}{privileged}",
        summary.created,
        summary.skipped,
        summary.refused,
        summary
            .errors
            .iter()
            .map(|e| format!("\n  {e}"))
            .collect::<String>()
    );
    output::message(out, &text, &summary);
}

/// `username (superuser)` or `username (staff)` for a user created with admin rights.
fn privilege(input: &NewUserInput) -> Option<String> {
    match (input.is_superuser, input.is_staff) {
        (true, _) => Some(format!("{} (superuser)", input.username)),
        (false, true) => Some(format!("{} (staff)", input.username)),
        (false, false) => None,
    }
}

/// Creates one user; an id taken by *another* user is a refusal, not a skip (a second run
/// of the same import finds its own users there and skips them).
async fn create_one(users: &Users<'_>, input: NewUserInput) -> Result<(), UserServiceError> {
    let (id, username) = (input.id, input.username.clone());
    match users.create(input, Actor::Cli).await {
        Ok(_) => Ok(()),
        Err(UserServiceError::Conflict("id")) => {
            let holder = users.get(id.unwrap_or_default()).await?;
            if holder.username == username {
                Err(UserServiceError::Conflict("id"))
            } else {
                Err(UserServiceError::Invalid(invalid_record(format!(
                    "id {} is taken by {:?} (import into an empty database, or use --new-ids)",
                    holder.id, holder.username
                ))))
            }
        }
        Err(e) => Err(e),
    }
}

impl Record {
    fn into_input(self) -> Result<NewUserInput, String> {
        let password = match (self.password, self.password_hash) {
            (Some(p), _) if !p.is_empty() => PasswordInput::Clear(Secret::new(p)),
            (_, Some(h)) if !h.is_empty() => PasswordInput::Hashed(h),
            _ => return Err("no password or password_hash".into()),
        };
        Ok(NewUserInput {
            username: self.username,
            email: self.email,
            password,
            first_name: self.first_name,
            last_name: self.last_name,
            is_staff: self.is_staff,
            is_superuser: self.is_superuser,
            is_active: self.is_active,
            date_joined: None,
            last_login: None,
            access: Default::default(),
            email_verified: true,
            id: None,
        })
    }
}

fn invalid_record(reason: String) -> tessera_server::domain::UserError {
    tessera_server::domain::UserError::Record(reason)
}

/// Every record, or why it could not be read (kept per record so one bad row is refused
/// alone).
fn read(file: &Path) -> anyhow::Result<Vec<Result<Record, String>>> {
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_slice());
        Ok(reader
            .deserialize::<Record>()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect())
    } else {
        let values: Vec<serde_json::Value> = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a JSON array", file.display()))?;
        Ok(values
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
            .collect())
    }
}
