//! `tessera import django --from-json FILE | --from-db postgres://…`: a Django project's
//! users, with their password hashes, so they log in with the passwords they have.
//!
//! Both sources end up as the same JSON objects (dumpdata's `fields`, or `to_jsonb` of a
//! table row), so a custom user model without some of `auth_user`'s columns works too:
//! a missing username falls back to the e-mail address.

use crate::cli::DjangoImportArgs;
use crate::output::Format;
use anyhow::Context;
use serde::Deserialize;
use tessera_server::config::Settings;
use tessera_server::service::user::{NewUserInput, PasswordInput};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The columns of `auth_user` that Tessera keeps (others, such as groups, are ignored).
#[derive(Debug, Deserialize)]
struct DjangoUser {
    /// Django's primary key (dumpdata's `pk`, the table's `id`).
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    password: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    is_staff: bool,
    #[serde(default)]
    is_superuser: bool,
    #[serde(default = "yes")]
    is_active: bool,
    #[serde(default)]
    date_joined: Option<String>,
    #[serde(default)]
    last_login: Option<String>,
}

fn yes() -> bool {
    true
}

pub async fn run(args: &DjangoImportArgs, settings: &Settings, out: Format) -> anyhow::Result<()> {
    let t = &settings.tokens;
    let legacy_window = t.legacy_until.is_some()
        && (t.legacy_hs256_secret.is_some()
            || t.legacy_kid.is_some()
            || !t.legacy_public_keys.is_empty());
    if args.new_ids && legacy_window {
        // Django's tokens name users by their Django id: with new ids they would name
        // whoever got that id here.
        anyhow::bail!(
            "--new-ids cannot be combined with a legacy token window ([tokens] legacy_until): \
             Django's tokens name users by their Django ids"
        );
    }
    let rows = match (&args.from_json, &args.from_db) {
        (Some(file), _) => {
            from_json(&std::fs::read(file).with_context(|| format!("reading {}", file.display()))?)?
        }
        (None, Some(url)) => from_db(url, &args.table).await?,
        (None, None) => anyhow::bail!("--from-json or --from-db is required"),
    };
    let inputs = rows
        .into_iter()
        .map(|row| {
            serde_json::from_value::<DjangoUser>(row)
                .map_err(|e| e.to_string())
                .and_then(DjangoUser::into_input)
                .map(|input| NewUserInput {
                    id: if args.new_ids { None } else { input.id },
                    ..input
                })
        })
        .collect();
    let tools = crate::user::Tools::open(settings).await?;
    crate::import::create_all(&tools.users(), inputs, out).await;
    Ok(())
}

/// The user objects of a `dumpdata` file: every entry whose `fields` hold a `password`
/// (a dump of several models brings its users only).
fn from_json(bytes: &[u8]) -> anyhow::Result<Vec<serde_json::Value>> {
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default)]
        pk: Option<serde_json::Value>,
        #[serde(default)]
        fields: serde_json::Map<String, serde_json::Value>,
    }
    let entries: Vec<Entry> = serde_json::from_slice(bytes)
        .context("not a dumpdata file (a JSON array of {model, pk, fields})")?;
    Ok(entries
        .into_iter()
        .filter(|e| e.fields.contains_key("password"))
        .map(|mut e| {
            if let Some(pk) = e.pk {
                e.fields.insert("id".into(), pk);
            }
            serde_json::Value::Object(e.fields)
        })
        .collect())
}

/// Every row of the user table, as JSON objects, in id order.
async fn from_db(url: &str, table: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    if !is_table_name(table) {
        anyhow::bail!("--table {table:?}: not a table name ([schema.]name)");
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!("--from-db: only PostgreSQL URLs (postgres://…) are supported");
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .context("connecting to the Django database")?;
    // The table name is checked above (identifiers cannot be bound as parameters).
    let rows: Vec<(serde_json::Value,)> =
        sqlx::query_as(&format!("SELECT to_jsonb(u) FROM {table} u ORDER BY u.id"))
            .fetch_all(&pool)
            .await
            .with_context(|| format!("reading {table}"))?;
    pool.close().await;
    Ok(rows.into_iter().map(|(row,)| row).collect())
}

fn is_table_name(s: &str) -> bool {
    let part = |p: &str| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut parts = s.split('.');
    let ok = parts.next().is_some_and(part);
    ok && parts.clone().count() <= 1 && parts.all(part)
}

impl DjangoUser {
    fn into_input(self) -> Result<NewUserInput, String> {
        let email = self.email.unwrap_or_default();
        if email.is_empty() {
            return Err("no e-mail address (Tessera requires one per user)".into());
        }
        let username = self
            .username
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| email.clone());
        Ok(NewUserInput {
            username,
            email,
            password: PasswordInput::Hashed(self.password),
            first_name: self.first_name.unwrap_or_default(),
            last_name: self.last_name.unwrap_or_default(),
            is_staff: self.is_staff,
            is_superuser: self.is_superuser,
            is_active: self.is_active,
            date_joined: self.date_joined.as_deref().map(django_time).transpose()?,
            last_login: self.last_login.as_deref().map(django_time).transpose()?,
            access: Default::default(),
            email_verified: true,
            id: self.id,
        })
    }
}

/// A Django datetime as dumpdata or PostgreSQL's `to_jsonb` write it: RFC 3339 with `Z` or
/// an offset, or naive (a project with `USE_TZ = False`), taken as UTC.
fn django_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .map_err(|_| format!("not a date and time: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumpdata_users_are_read_and_other_models_ignored() {
        let dump = br#"[
            {"model": "auth.group", "pk": 1, "fields": {"name": "staff", "permissions": []}},
            {"model": "auth.user", "pk": 7, "fields": {"password": "pbkdf2_sha256$1$s$aGFzaA==",
             "last_login": null, "is_superuser": false, "username": "ann", "first_name": "Ann",
             "last_name": "Lee", "email": "ann@example.com", "is_staff": true, "is_active": true,
             "date_joined": "2024-05-01T12:34:56.789Z", "groups": [], "user_permissions": []}}
        ]"#;
        let rows = from_json(dump).unwrap();
        assert_eq!(rows.len(), 1);
        let input = serde_json::from_value::<DjangoUser>(rows[0].clone())
            .unwrap()
            .into_input()
            .unwrap();
        assert_eq!(input.username, "ann");
        assert_eq!(input.id, Some(7), "dumpdata's pk is kept");
        assert!(input.is_staff && !input.is_superuser && input.is_active);
        assert_eq!(input.date_joined.unwrap().unix_timestamp(), 1_714_566_896);
        assert!(input.last_login.is_none());
    }

    #[test]
    fn times_with_offsets_or_naive_are_read_as_utc() {
        let utc = django_time("2024-05-01T12:34:56Z").unwrap();
        assert_eq!(django_time("2024-05-01T12:34:56").unwrap(), utc);
        assert_eq!(django_time("2024-05-01T14:34:56+02:00").unwrap(), utc);
        assert!(django_time("yesterday").is_err());
    }

    #[test]
    fn a_custom_model_without_username_uses_the_email_and_one_without_email_is_refused() {
        let row = serde_json::json!({"email": "x@example.com", "password": "!"});
        let input = serde_json::from_value::<DjangoUser>(row)
            .unwrap()
            .into_input()
            .unwrap();
        assert_eq!(input.username, "x@example.com");
        let row = serde_json::json!({"username": "y", "email": "", "password": "!"});
        let refused = serde_json::from_value::<DjangoUser>(row)
            .unwrap()
            .into_input();
        assert!(refused.unwrap_err().contains("e-mail"));
    }

    #[test]
    fn only_plain_identifiers_are_table_names() {
        for ok in ["auth_user", "accounts_user", "public.auth_user", "_x1"] {
            assert!(is_table_name(ok), "{ok}");
        }
        for bad in ["", "1x", "a.b.c", "auth_user;drop", "\"x\"", "a .b", "a."] {
            assert!(!is_table_name(bad), "{bad}");
        }
    }
}
