//! What a sign-in authenticated with: the methods used and when ([`Methods`]), the
//! `amr` values they give (RFC 8176), and the level reached ([`Level`], the `acr`).

use serde::{Deserialize, Serialize};

/// A way the user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The account's password (knowledge).
    Password,
    /// A TOTP code (RFC 6238; possession of the authenticator app's secret).
    Totp,
    /// A single-use recovery code (possession of the printed list).
    RecoveryCode,
    /// A WebAuthn passkey with user verification (possession and a PIN or biometric).
    Passkey,
}

impl Method {
    /// The RFC 8176 `amr` values this method gives.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Self::Password => &["pwd"],
            // A recovery code is a one-time password from a list: RFC 8176 has no value
            // of its own for it.
            Self::Totp | Self::RecoveryCode => &["otp"],
            Self::Passkey => &["hwk", "user"],
        }
    }

    /// How many independent factors the method is on its own: a user-verified passkey is
    /// two (the device, and the PIN or biometric that unlocks it).
    fn factors(self) -> u8 {
        match self {
            Self::Passkey => 2,
            Self::Password | Self::Totp | Self::RecoveryCode => 1,
        }
    }

    /// Whether the method can be a second factor.
    pub fn is_second_factor(self) -> bool {
        !matches!(self, Self::Password)
    }
}

/// One method, and when it was used (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Used {
    /// The method.
    pub method: Method,
    /// When.
    pub at: i64,
}

/// The methods a sign-in used, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Methods(Vec<Used>);

impl Methods {
    /// One method, used at `at`.
    pub fn one(method: Method, at: i64) -> Self {
        Self(vec![Used { method, at }])
    }

    /// Reads the stored form. A session stored before methods were recorded (or an
    /// unreadable value) read as the password alone: the only way in there was.
    pub fn parse(stored: &str) -> Self {
        match serde_json::from_str::<Vec<Used>>(stored) {
            Ok(used) if !used.is_empty() => Self(used),
            _ => Self(vec![Used {
                method: Method::Password,
                at: 0,
            }]),
        }
    }

    /// The stored form (JSON).
    pub fn stored(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }

    /// These methods and `method` used at `at` (a method used again moves to its new time).
    #[must_use]
    pub fn with(&self, method: Method, at: i64) -> Self {
        let mut used: Vec<Used> = self
            .0
            .iter()
            .copied()
            .filter(|u| u.method != method)
            .collect();
        used.push(Used { method, at });
        Self(used)
    }

    /// Each method used, with its time.
    pub fn iter(&self) -> impl Iterator<Item = &Used> {
        self.0.iter()
    }

    /// The RFC 8176 `amr` values, each once, with `mfa` when the level is two factors.
    pub fn amr(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for used in &self.0 {
            for value in used.method.amr() {
                if !out.iter().any(|v| v == value) {
                    out.push((*value).to_owned());
                }
            }
        }
        if self.level() == Level::TwoFactors {
            out.push("mfa".to_owned());
        }
        out
    }

    /// The level these methods reach.
    pub fn level(&self) -> Level {
        let factors: u8 = self
            .0
            .iter()
            .map(|u| u.method.factors())
            .fold(0, u8::saturating_add);
        if factors >= 2 {
            Level::TwoFactors
        } else {
            Level::OneFactor
        }
    }

    /// Whether a second factor was used.
    pub fn has_second_factor(&self) -> bool {
        self.0.iter().any(|u| u.method.is_second_factor())
    }
}

/// The authentication level (the `acr` claim), ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// One factor: a password.
    OneFactor,
    /// Two factors: a password and a second factor, or a user-verified passkey.
    TwoFactors,
}

impl Level {
    /// Every level, lowest first (discovery's `acr_values_supported`).
    pub const ALL: [Level; 2] = [Level::OneFactor, Level::TwoFactors];

    /// The `acr` value.
    pub fn acr(self) -> &'static str {
        match self {
            Self::OneFactor => "aal1",
            Self::TwoFactors => "aal2",
        }
    }

    /// The level an `acr` value names.
    pub fn of_acr(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.acr() == value)
    }

    /// The level an `acr_values` request asks for: the lowest of the values Tessera knows
    /// (any of them satisfies the request); `None` when it names none of them.
    pub fn requested(acr_values: &str) -> Option<Self> {
        acr_values.split_whitespace().filter_map(Self::of_acr).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_amr() {
        let pwd = Methods::one(Method::Password, 10);
        assert_eq!(pwd.level(), Level::OneFactor);
        assert_eq!(pwd.amr(), ["pwd"]);
        let both = pwd.with(Method::Totp, 20);
        assert_eq!(both.level(), Level::TwoFactors);
        assert_eq!(both.amr(), ["pwd", "otp", "mfa"]);
        let passkey = Methods::one(Method::Passkey, 5);
        assert_eq!(passkey.level(), Level::TwoFactors);
        assert_eq!(passkey.amr(), ["hwk", "user", "mfa"]);
        assert_eq!(Methods::parse(&both.stored()), both);
        assert_eq!(Methods::parse("").level(), Level::OneFactor);
    }

    #[test]
    fn requested_level_is_the_lowest_known() {
        assert_eq!(Level::requested("aal2"), Some(Level::TwoFactors));
        assert_eq!(Level::requested("aal2 aal1"), Some(Level::OneFactor));
        assert_eq!(Level::requested("urn:other gold"), None);
    }
}
