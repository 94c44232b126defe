//! `[mfa]`: who must use a second factor.

use serde::{Deserialize, Serialize};

/// `[mfa]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaSettings {
    /// Who must sign in with a second factor besides the users an admin marked and those
    /// who enrolled one: `staff`, `superuser`, `role:NAME`, `group:NAME`. Such a user with
    /// no second factor is sent to enrol one after the password.
    pub required_for: Vec<MfaRule>,
    /// The issuer shown in authenticator apps (the `otpauth://` label); default: the
    /// issuer URL's host.
    pub totp_issuer: Option<String>,
    /// The passkeys' relying party id (a domain: browsers refuse an IP address); default:
    /// the issuer's host. An issuer on an IP address (the default `http://127.0.0.1:8000`)
    /// has no passkeys unless this names a domain the issuer is served under.
    pub passkey_rp_id: Option<String>,
    /// Origins passkeys may be used from besides the issuer's (e.g. the same Tessera
    /// reached under another name).
    pub passkey_origins: Vec<String>,
}

/// One entry of `[mfa] required_for`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum MfaRule {
    /// Staff users.
    Staff,
    /// Superusers.
    Superuser,
    /// Users with this role.
    Role(String),
    /// Members of this group.
    Group(String),
}

impl TryFrom<String> for MfaRule {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.split_once(':') {
            None if value == "staff" => Ok(Self::Staff),
            None if value == "superuser" => Ok(Self::Superuser),
            Some(("role", name)) if !name.is_empty() => Ok(Self::Role(name.to_owned())),
            Some(("group", name)) if !name.is_empty() => Ok(Self::Group(name.to_owned())),
            _ => Err(format!(
                "{value:?}: expected staff, superuser, role:NAME or group:NAME"
            )),
        }
    }
}

impl From<MfaRule> for String {
    fn from(rule: MfaRule) -> Self {
        match rule {
            MfaRule::Staff => "staff".into(),
            MfaRule::Superuser => "superuser".into(),
            MfaRule::Role(name) => format!("role:{name}"),
            MfaRule::Group(name) => format!("group:{name}"),
        }
    }
}
