//! What an admin's browser does on auth's admin dashboard with JavaScript off: the sign-in form,
//! then a user's page and one of its action forms, posted with the form's CSRF token and the
//! dashboard's own origin, as a browser sends them.

use reqwest::header::COOKIE;

use super::browser::{cookie_set, http_without_redirects, PASSWORD};
use super::SignedIn;

pub struct Dashboard {
    http: reqwest::Client,
    url: String,
    /// The admin's session cookie on the dashboard.
    cookie: String,
}

impl Dashboard {
    /// Signs `admin` (an admin without 2FA, password [`PASSWORD`]) in on the dashboard at `url`.
    pub async fn sign_in(url: &str, admin: &SignedIn) -> Dashboard {
        let http = http_without_redirects();
        let res = http
            .post(format!("{url}/login"))
            .header("origin", url)
            .form(&[("email", admin.email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .expect("dashboard sign-in");
        assert_eq!(res.status(), 303, "the dashboard lets the admin in");
        let cookie = cookie_set(&res, "better-auth.session_token=");
        Dashboard {
            http,
            url: url.to_owned(),
            cookie,
        }
    }

    /// Posts the `action` form of the page of user `user_id` with `fields`, as the browser does
    /// after reading that page (the token comes from the page); the status of the answer.
    pub async fn act(&self, user_id: &str, action: &str, fields: &[(&str, &str)]) -> u16 {
        let page_url = format!("{}/users/{user_id}", self.url);
        let page = self
            .http
            .get(&page_url)
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("user page")
            .text()
            .await
            .unwrap();
        let marker = format!(
            "name=\"action\" value=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\""
        );
        let start = page
            .find(&marker)
            .unwrap_or_else(|| panic!("no {action} form on the user's page: {page}"))
            + marker.len();
        let csrf = page[start..].split('"').next().unwrap();
        let mut form = vec![("action", action), ("csrf", csrf)];
        form.extend_from_slice(fields);
        let res = self
            .http
            .post(&page_url)
            .header(COOKIE, &self.cookie)
            .header("origin", &self.url)
            .form(&form)
            .send()
            .await
            .expect("dashboard action");
        res.status().as_u16()
    }
}
