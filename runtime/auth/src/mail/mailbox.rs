//! Dev mailbox: each message is written as an RFC 5322-style `.eml` file in `AUTH_MAIL_DIR`, and
//! a line is appended to `mailbox.log`, so a developer (or a test) reads mail without an SMTP
//! server. Files are created with mode 0600: they contain sign-in capable links.

use std::io::Write;
use std::path::PathBuf;

use super::{MailSender, OutgoingMail, SendFuture};

pub struct MailboxSender {
    dir: PathBuf,
    from: String,
}

impl MailboxSender {
    pub fn new(dir: PathBuf, from: String) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create AUTH_MAIL_DIR {}: {e}", dir.display()))?;
        Ok(MailboxSender { dir, from })
    }

    fn write(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let now = chrono::Utc::now();
        let name = format!(
            "{}-{}.eml",
            now.format("%Y%m%dT%H%M%S%.3fZ"),
            crate::ids::random_string(8)
        );
        let content = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            self.from,
            mail.to,
            mail.subject,
            now.to_rfc2822(),
            mail.text
        );
        let mut file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(self.dir.join(&name))?;
        file.write_all(content.as_bytes())?;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(self.dir.join("mailbox.log"))?;
        writeln!(
            log,
            "{} to={} subject={:?} file={}",
            now.to_rfc3339(),
            mail.to,
            mail.subject,
            name
        )?;
        tracing::info!(to = %mail.to, subject = %mail.subject, file = %name, "mail written to dev mailbox");
        Ok(())
    }
}

impl MailSender for MailboxSender {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> SendFuture<'a> {
        Box::pin(async move { self.write(mail) })
    }
}
