//! The mail that tells a user their second factors changed (when `[mail]` is set): an
//! authenticator added by someone who had their password, or removed, is then no secret
//! from them. Sent after the answer; a failure is logged, never the request's.

use crate::state::AppState;
use crate::store::User;
use tracing::Instrument as _;

/// What changed.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    /// An authenticator app was added.
    TotpAdded,
    /// The authenticator app was removed.
    TotpRemoved,
    /// New recovery codes were made (the old ones no longer work).
    RecoveryCodesReplaced,
    /// An administrator removed every second factor.
    Reset,
    /// A passkey was added.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
}

impl Change {
    fn subject(self) -> &'static str {
        match self {
            Self::TotpAdded => "Two-step verification was turned on",
            Self::TotpRemoved => "Your authenticator app was removed",
            Self::RecoveryCodesReplaced => "New recovery codes were made",
            Self::Reset => "Your two-step verification was reset",
            Self::PasskeyAdded => "A passkey was added to your account",
            Self::PasskeyRemoved => "A passkey was removed from your account",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::TotpAdded => {
                "An authenticator app was added to your account: signing in now asks for its code too, and every earlier session was signed out."
            }
            Self::TotpRemoved => {
                "The authenticator app was removed from your account: signing in asks for the password alone now."
            }
            Self::RecoveryCodesReplaced => {
                "New recovery codes were made for your account; the earlier ones no longer work."
            }
            Self::Reset => {
                "An administrator removed the second factors of your account and signed you out everywhere."
            }
            Self::PasskeyAdded => {
                "A passkey was added to your account: it signs you in on its own, and every earlier session was signed out."
            }
            Self::PasskeyRemoved => "A passkey was removed from your account.",
        }
    }
}

/// Mails `user` that `change` happened, if mail is configured.
pub fn send(state: &AppState, user: &User, change: Change) {
    if state.mailer.is_none() {
        return;
    }
    let state = state.clone();
    let to = user.email.clone();
    let body = format!(
        "{}\n\nIf this was not you, reset your password at {}/account/forgot and tell your administrator.\n",
        change.text(),
        state.issuer
    );
    tokio::spawn(
        async move {
            let Some(mailer) = state.mailer.as_ref() else {
                return;
            };
            if let Err(error) = mailer.send(&to, change.subject(), body).await {
                tracing::warn!(%error, "a second-factor notice could not be mailed");
            }
        }
        .instrument(tracing::Span::current()),
    );
}
