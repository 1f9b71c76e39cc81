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
    /// The folder is made the owner's only (0700); one that exists loses the access of other
    /// users (a folder an older stack made 0755 showed every mail's name, time and size).
    pub fn new(dir: PathBuf, from: String) -> anyhow::Result<Self> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let failed = |e: std::io::Error| {
            anyhow::anyhow!("cannot create AUTH_MAIL_DIR {}: {e}", dir.display())
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(failed)?;
        let mode = std::fs::metadata(&dir)
            .map_err(failed)?
            .permissions()
            .mode();
        if mode & 0o007 != 0 {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode & 0o770))
                .map_err(failed)?;
        }
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::MailboxSender;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_mail_folder_is_closed_to_other_users() {
        let parent = tempfile::tempdir().unwrap();
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // Made here: the developer's only, whatever the umask.
        let new = parent.path().join("mail");
        MailboxSender::new(new.clone(), "auth@localhost".into()).unwrap();
        assert_eq!(mode(&new), 0o700);
        // Left by an older stack, listable by all: others lose their access, the group keeps its.
        let old = parent.path().join("old-mail");
        std::fs::create_dir(&old).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        MailboxSender::new(old.clone(), "auth@localhost".into()).unwrap();
        assert_eq!(mode(&old), 0o750);
    }
}
