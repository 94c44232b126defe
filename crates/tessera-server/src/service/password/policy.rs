//! What a new password must be: long enough, not too long, not entirely digits, not one of
//! the 20,000 most common passwords (the list Django's `CommonPasswordValidator` ships,
//! by Royce Williams, bundled in `assets/common-passwords.txt`), and not the user's own
//! username or e-mail. Checked wherever a password is set: sign-up, reset, change, admin
//! API and CLI; imported hashes are kept as they are.

use crate::domain::UserError;
use std::collections::HashSet;
use std::sync::LazyLock;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../../assets/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// The limits (from `[passwords]`).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Fewest characters.
    pub min_chars: usize,
    /// Most bytes (the hasher refuses longer ones before hashing).
    pub max_bytes: usize,
}

impl Policy {
    /// Checks `password` for a user known by `names` (username, e-mail).
    ///
    /// # Errors
    /// [`UserError::Password`] with the reason, worded for the person choosing it.
    pub fn check(&self, password: &str, names: &[&str]) -> Result<(), UserError> {
        let refuse = |why: String| Err(UserError::Password(why));
        if password.chars().count() < self.min_chars {
            return Err(UserError::PasswordTooShort {
                min: self.min_chars,
            });
        }
        if password.len() > self.max_bytes {
            return refuse(format!("at most {} bytes", self.max_bytes));
        }
        if password.chars().all(|c| c.is_ascii_digit()) {
            return refuse("must not be entirely numeric".into());
        }
        let folded = password.trim().to_lowercase();
        if COMMON.contains(folded.as_str()) {
            return refuse("this password is too common".into());
        }
        let local = |n: &str| n.split('@').next().unwrap_or(n).to_lowercase();
        if names
            .iter()
            .any(|n| !n.is_empty() && (folded == n.to_lowercase() || folded == local(n)))
        {
            return refuse("must not be your username or e-mail address".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        min_chars: 8,
        max_bytes: 64,
    };

    #[test]
    fn good_passwords_pass_and_each_rule_refuses_with_its_reason() {
        assert!(
            POLICY
                .check("correct horse battery staple", &["ann", "ann@example.com"])
                .is_ok()
        );
        let reason = |p: &str| {
            POLICY
                .check(p, &["zorblaxian", "qwzorb@example.com"])
                .unwrap_err()
                .to_string()
        };
        assert!(reason("short").contains("at least 8"));
        assert!(reason(&"x".repeat(65)).contains("64 bytes"));
        assert!(reason("12345678901").contains("numeric"));
        assert!(reason("Password1").contains("too common"));
        assert!(reason("  iloveyou  ").contains("too common"));
        assert!(reason("Zorblaxian").contains("username"));
        assert!(reason("qwzorb@example.com").contains("username"));
        assert!(reason("QWZORB").contains("at least"), "short first");
    }

    #[test]
    fn the_bundled_list_is_loaded() {
        assert!(COMMON.len() > 19_000);
        assert!(COMMON.contains("qwerty"));
    }
}
