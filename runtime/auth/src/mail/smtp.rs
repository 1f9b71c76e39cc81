//! SMTP delivery with lettre (rustls). `AUTH_SMTP_URL` is `smtps://user@host[:port]` (implicit
//! TLS), `smtp://user@host?tls=required` (STARTTLS) etc., as lettre's URL format; the password
//! comes from `AUTH_SMTP_PASSWORD_FILE`, never from the URL.

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailSender, OutgoingMail, SendFuture};
use crate::config::Secret;

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpSender {
    pub fn new(url: &str, password: Option<&Secret>, from: &str) -> anyhow::Result<Self> {
        let parsed =
            url::Url::parse(url).map_err(|e| anyhow::anyhow!("AUTH_SMTP_URL is not a URL: {e}"))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("AUTH_SMTP_URL is not a usable SMTP URL: {e}"))?;
        if !parsed.username().is_empty() {
            let pw = password
                .map(|p| String::from_utf8_lossy(p.expose()).into_owned())
                .unwrap_or_default();
            let user = percent_encoding::percent_decode_str(parsed.username())
                .decode_utf8_lossy()
                .into_owned();
            builder = builder.credentials(Credentials::new(user, pw));
        }
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("AUTH_MAIL_FROM is not a mailbox: {e}"))?;
        Ok(SmtpSender {
            transport: builder.build(),
            from,
        })
    }
}

impl MailSender for SmtpSender {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> SendFuture<'a> {
        Box::pin(async move {
            let message = Message::builder()
                .from(self.from.clone())
                .to(mail.to.parse()?)
                .subject(&mail.subject)
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone())?;
            self.transport.send(message).await?;
            Ok(())
        })
    }
}
