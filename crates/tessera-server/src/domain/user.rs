//! Usernames and e-mail addresses.

use std::fmt;

/// A user-supplied value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// The username is empty, too long or has characters Django would refuse.
    #[error("username: 1 to 150 characters: letters, digits and @.+-_ only")]
    Username,
    /// Not an e-mail address.
    #[error("email: not a valid e-mail address")]
    Email,
    /// An imported record could not be read.
    #[error("{0}")]
    Record(String),
    /// A list of names (roles, groups, services) with an unusable entry.
    #[error("{0}: at most 100 names of 1 to 100 characters, without spaces or control characters")]
    Names(&'static str),
    /// A new password the policy refuses.
    #[error("password: {0}")]
    Password(String),
    /// An e-mail domain that may not sign up.
    #[error("email: this domain may not sign up")]
    DomainNotAllowed,
    /// A username that is an e-mail address, not the account's own: it would answer
    /// logins by that address.
    #[error(
        "username: an e-mail address can only be the username of the account with that address"
    )]
    UsernameIsOtherEmail,
    /// A new password shorter than the minimum.
    #[error("password: must be at least {min} characters")]
    PasswordTooShort {
        /// Minimum.
        min: usize,
    },
}

/// A username as Django's default validator accepts it: 1–150 of letters, digits, `@.+-_`,
/// NFKC-normalised as Django's `normalize_username` does (full-width `ｒｏｏｔ` is `root`).
/// Unique without regard to case: see [`username_key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Checks and normalises a username.
    ///
    /// # Errors
    /// [`UserError::Username`].
    pub fn parse(s: &str) -> Result<Self, UserError> {
        use unicode_normalization::UnicodeNormalization as _;
        let s: String = s.nfkc().collect();
        let ok = !s.is_empty()
            && s.chars().count() <= 150
            && s.chars()
                .all(|c| c.is_alphanumeric() || "@.+-_".contains(c));
        if ok {
            Ok(Self(s))
        } else {
            Err(UserError::Username)
        }
    }

    /// Checks that the username may belong to the account with `email`: a username that is
    /// an e-mail address must be that address (whatever the case).
    ///
    /// # Errors
    /// [`UserError::UsernameIsOtherEmail`].
    pub fn fits(&self, email: &Email) -> Result<(), UserError> {
        if self.0.contains('@') && username_key(&self.0) != username_key(email.as_str()) {
            return Err(UserError::UsernameIsOtherEmail);
        }
        Ok(())
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two usernames the same: NFKC, lower case, NFKC again (so `Root`, `ROOT` and
/// full-width `ｒｏｏｔ` are all `root`). Stored beside the username (`users.username_key`,
/// unique) and used for lookups; also the throttle's key for an unknown login id.
pub fn username_key(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    s.trim()
        .nfkc()
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .nfkc()
        .collect()
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address: `local@domain`, domain lower-cased (as Django normalises it).
/// Lookups are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Checks and normalises an address.
    ///
    /// # Errors
    /// [`UserError::Email`].
    pub fn parse(s: &str) -> Result<Self, UserError> {
        use unicode_normalization::UnicodeNormalization as _;
        // NFKC, as usernames: a full-width `ｅｘａｍｐｌｅ.com` is `example.com`, not a
        // second address that looks the same (and could not be mailed).
        let s: String = s.trim().nfkc().collect();
        let s = s.as_str();
        let (local, domain) = s.rsplit_once('@').ok_or(UserError::Email)?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && s.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c));
        if ok {
            Ok(Self(format!("{local}@{}", domain.to_lowercase())))
        } else {
            Err(UserError::Email)
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("user1").is_ok());
        assert!(Username::parse("a.b+c-d_e@f").is_ok());
        for bad in ["", "with space", "semi;colon", &"x".repeat(151)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_are_normalised_and_compared_without_case() {
        assert_eq!(Username::parse("ｒｏｏｔ").unwrap().as_str(), "root");
        assert_eq!(username_key("Root"), "root");
        assert_eq!(username_key("ＲＯＯＴ"), "root");
        assert_eq!(username_key("Émile"), username_key("émile"));
        let own = Email::parse("Alice@Example.com").unwrap();
        assert!(
            Username::parse("alice@example.com")
                .unwrap()
                .fits(&own)
                .is_ok()
        );
        assert_eq!(
            Username::parse("bob@example.com").unwrap().fits(&own),
            Err(UserError::UsernameIsOtherEmail)
        );
        assert!(Username::parse("alice").unwrap().fits(&own).is_ok());
        assert_eq!(
            Email::parse("dave@ｅｘａｍｐｌｅ.com").unwrap().as_str(),
            "dave@example.com"
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("User1@Example.COM").unwrap().as_str(),
            "User1@example.com"
        );
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@b",
            "a@.com",
            "a b@example.com",
            "a@example.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
