//! Who must sign in with a second factor: one pure function of the user, their factors,
//! the client and the request.

use crate::config::{MfaRule, MfaSettings};
use crate::domain::authn::Level;
use crate::store::{Client, User};

/// What a sign-in needs after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Nothing more: the password is enough.
    PasswordOnly,
    /// A second factor the user has.
    SecondFactor,
    /// A second factor, and the user has none: they must enrol one first.
    Enrol,
}

/// What `user` needs after the password. A second factor is needed when the user has
/// one (who enrolled uses it), an admin required it, `[mfa] required_for` names the
/// user, the client requires it, or the request asks for two factors (`acr_values`).
pub fn requirement(
    settings: &MfaSettings,
    user: &User,
    enrolled: bool,
    client: Option<&Client>,
    requested: Option<Level>,
) -> Requirement {
    let needed = enrolled
        || user.mfa_required
        || settings.required_for.iter().any(|rule| applies(rule, user))
        || client.is_some_and(|c| c.require_mfa)
        || requested.is_some_and(|l| l >= Level::TwoFactors);
    match (needed, enrolled) {
        (false, _) => Requirement::PasswordOnly,
        (true, true) => Requirement::SecondFactor,
        (true, false) => Requirement::Enrol,
    }
}

fn applies(rule: &MfaRule, user: &User) -> bool {
    match rule {
        MfaRule::Staff => user.is_staff,
        MfaRule::Superuser => user.is_superuser,
        MfaRule::Role(r) => user.roles.iter().any(|x| x == r),
        MfaRule::Group(g) => user.groups.iter().any(|x| x == g),
    }
}
