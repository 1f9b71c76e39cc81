//! Outgoing mail behind one interface: a dev mailbox folder, SMTP, or a custom sender.

mod greeting;
mod mailbox;
mod smtp;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use greeting::{greeting, greeting_to_holder};
pub use mailbox::MailboxSender;
pub use smtp::SmtpSender;

use crate::config::{AuthConfig, MailConfig};

#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Anything that can deliver a message (implement this to plug in another transport).
pub trait MailSender: Send + Sync {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> SendFuture<'a>;
}

/// The configured sender, or none (then mail-dependent endpoints answer as BetterAuth does
/// without `sendResetPassword`/`sendVerificationEmail`).
#[derive(Clone)]
pub struct Mailer(Option<Arc<dyn MailSender>>);

impl Mailer {
    pub fn from_config(config: &AuthConfig) -> anyhow::Result<Self> {
        Ok(match &config.mail {
            MailConfig::Mailbox(dir) => Mailer(Some(Arc::new(MailboxSender::new(
                dir.clone(),
                config.mail_from.clone(),
            )?))),
            MailConfig::Smtp { url, password } => Mailer(Some(Arc::new(SmtpSender::new(
                url,
                password.as_ref(),
                &config.mail_from,
            )?))),
            MailConfig::Disabled => {
                tracing::warn!("neither AUTH_SMTP_URL nor AUTH_MAIL_DIR is set: email verification and password reset are disabled");
                Mailer(None)
            }
        })
    }

    pub fn custom(sender: Arc<dyn MailSender>) -> Self {
        Mailer(Some(sender))
    }

    pub fn disabled() -> Self {
        Mailer(None)
    }

    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Sends in the background: the HTTP answer must not wait for (or reveal the timing of)
    /// delivery. Failures are logged without the message body (it holds tokens).
    pub fn send_in_background(&self, mail: OutgoingMail) {
        if let Some(sender) = self.0.clone() {
            tokio::spawn(async move {
                if let Err(e) = sender.send(&mail).await {
                    tracing::error!(error = %format!("{e:#}"), subject = %mail.subject, "sending mail failed");
                }
            });
        }
    }
}
