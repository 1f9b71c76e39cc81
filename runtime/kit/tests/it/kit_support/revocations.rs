//! The ways a user's sessions end at auth, driven through auth's real endpoints (and, for
//! deletion, the database, since auth has no delete endpoint): each must also end every device
//! session the user created at a base service.

use serde_json::json;

use super::{SignedIn, Stack};

const NEW_PASSWORD: &str = "a brand new battery staple";

impl Stack {
    /// `POST /revoke-sessions`: sign out everywhere.
    pub async fn revoke_sessions(&self, who: &SignedIn) {
        let (status, body) = self
            .browser
            .post("/api/auth/revoke-sessions", Some(&who.cookie), json!({}))
            .await;
        assert_eq!(status, 200, "revoke-sessions: {body}");
    }

    /// An admin bans `who` through `POST /admin/ban-user`.
    pub async fn ban(&self, who: &SignedIn) {
        let admin = self.sign_up(&format!("admin-of-{}", who.user_id)).await;
        self.set_role(&admin, "admin");
        let (status, body) = self
            .browser
            .post(
                "/api/auth/admin/ban-user",
                Some(&admin.cookie),
                json!({"userId": who.user_id}),
            )
            .await;
        assert_eq!(status, 200, "ban-user: {body}");
    }

    /// The whole reset flow: request, the link from auth's mailbox, new password.
    pub async fn reset_password(&self, who: &SignedIn) {
        let (status, body) = self
            .browser
            .post(
                "/api/auth/request-password-reset",
                None,
                json!({"email": who.email}),
            )
            .await;
        assert_eq!(status, 200, "request-password-reset: {body}");
        let token = self.wait_for_reset_token(&who.email).await;
        let (status, body) = self
            .browser
            .post(
                "/api/auth/reset-password",
                None,
                json!({"token": token, "newPassword": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "reset-password: {body}");
    }

    /// Deletes the user from auth's database, as an operator would.
    pub fn delete_user(&self, who: &SignedIn) {
        self.auth_sql(&format!(
            "DELETE FROM \"user\" WHERE id = '{}'",
            who.user_id
        ));
    }

    /// Mail is sent in the background: waits for the reset mail to `email` in auth's mailbox.
    async fn wait_for_reset_token(&self, email: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mails = std::fs::read_dir(self.auth.mail_dir.path()).unwrap();
            for mail in mails.filter_map(std::result::Result::ok) {
                let text = std::fs::read_to_string(mail.path()).unwrap_or_default();
                if !text.contains(&format!("To: {email}")) {
                    continue;
                }
                if let Some((_, rest)) = text.split_once("/reset-password/") {
                    return rest.split(['?', ' ', '\n']).next().unwrap().to_owned();
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no password-reset mail to {email} in auth's mailbox within 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
