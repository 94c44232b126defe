//! Sending the links of self-service (verification, password reset, e-mail change) over
//! SMTP with `lettre`. Messages are plain text; sending happens off the request (see
//! `account`), so how long a mail server takes never shows in an answer.

use crate::config::MailSettings;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Mail could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// `[mail] smtp_url` or `from` is unusable.
    #[error("mail configuration: {0}")]
    Config(String),
    /// An address could not be used.
    #[error("address: {0}")]
    Address(String),
    /// The message could not be built.
    #[error("message: {0}")]
    Build(String),
    /// The SMTP server refused or could not be reached.
    #[error("smtp: {0}")]
    Send(String),
}

/// The SMTP client.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the SMTP credentials.
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer of `[mail]`, or `None` when no `smtp_url` is set.
    ///
    /// # Errors
    /// [`MailError::Config`].
    pub fn from_settings(s: &MailSettings) -> Result<Option<Self>, MailError> {
        let Some(url) = &s.smtp_url else {
            return Ok(None);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|e| MailError::Config(format!("smtp_url: {e}")))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = s
            .from
            .parse()
            .map_err(|e| MailError::Config(format!("from: {e}")))?;
        Ok(Some(Self { transport, from }))
    }

    /// Sends a plain-text message.
    ///
    /// # Errors
    /// [`MailError`].
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Send(e.to_string()))?;
        Ok(())
    }
}
