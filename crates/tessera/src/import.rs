//! `tessera user import FILE`: users from a JSON array or a CSV file.

use crate::output::{self, Format};
use anyhow::Context;
use futures_util::StreamExt;
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;
use tessera_proto::Secret;
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
}

pub async fn run(users: &Users<'_>, file: &Path, out: Format) -> anyhow::Result<()> {
    let records = read(file)?;
    let bar = match out {
        Format::Text => indicatif::ProgressBar::new(records.len() as u64),
        Format::Json => indicatif::ProgressBar::hidden(),
    };
    let mut summary = Summary::default();
    let mut results = futures_util::stream::iter(records.into_iter().enumerate())
        .map(|(i, record)| async move { (i + 1, import_one(users, record).await) })
        .buffer_unordered(4);
    while let Some((line, result)) = results.next().await {
        match result {
            Ok(()) => summary.created += 1,
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
    let text = format!(
        "created {}, skipped {} (already exist), refused {} (invalid){}",
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
    Ok(())
}

async fn import_one(
    users: &Users<'_>,
    record: Result<Record, String>,
) -> Result<(), UserServiceError> {
    let record = record.map_err(|e| UserServiceError::Invalid(invalid_record(e)))?;
    let password = match (record.password, record.password_hash) {
        (Some(p), _) if !p.is_empty() => PasswordInput::Clear(Secret::new(p)),
        (_, Some(h)) if !h.is_empty() => PasswordInput::Hashed(h),
        _ => {
            return Err(UserServiceError::Invalid(invalid_record(
                "no password or password_hash".into(),
            )));
        }
    };
    let input = NewUserInput {
        username: record.username,
        email: record.email,
        password,
        first_name: record.first_name,
        last_name: record.last_name,
        is_staff: record.is_staff,
        is_superuser: record.is_superuser,
        is_active: record.is_active,
    };
    users.create(input).await.map(|_| ())
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
