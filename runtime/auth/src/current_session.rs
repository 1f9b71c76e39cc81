//! Resolving the session behind a request's cookie, and issuing new sessions.

use axum::http::HeaderMap;
use chrono::{Duration, Utc};

use crate::cookie;
use crate::db::models::{Session, User};
use crate::db::session_sign_in::{self, Proved};
use crate::db::{self, sessions};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::state::AppState;

pub struct CurrentSession {
    pub session: Session,
    pub user: User,
    /// The browser holds a valid `dont_remember` cookie (`rememberMe: false`).
    pub dont_remember: bool,
}

impl CurrentSession {
    /// Refuses (`403 NOT_WHILE_IMPERSONATING`) an impersonation session: the routes that change
    /// how the user signs in without asking for their password (a new address, a linked or
    /// unlinked provider) would let an admin take the account over, out of the audit log's sight.
    pub fn not_impersonated(&self) -> ApiResult<()> {
        match self.session.impersonated_by {
            Some(_) => Err(ApiError::forbidden(
                error_codes::NOT_WHILE_IMPERSONATING,
                "An impersonation session cannot change how the user signs in",
            )),
            None => Ok(()),
        }
    }

    /// Whether this is an admin's own session. An impersonation never is, whoever it is of: no
    /// role may impersonate admins and giving a user the admin role ends their impersonations,
    /// so one of an admin exists only if the database was edited by hand, and it still gets no
    /// admin powers.
    pub fn is_admins_own(&self) -> bool {
        self.user.is_admin() && self.session.impersonated_by.is_none()
    }

    /// Whether this session may act as an admin (the dashboard, the API's admin routes): an
    /// admin's own whose sign-in proved their second factor while they have two-factor on. A
    /// sign-in through a linked provider asks for no second factor (as in BetterAuth), and would
    /// otherwise be a way around it. Without two-factor, a provider's sign-in is as good a proof
    /// as the password alone, which the admin could set with it. Read with the user's row as it
    /// is now: an admin who turned two-factor on since signing in without it signs in again.
    pub async fn may_administer(&self, client: &db::Client) -> ApiResult<bool> {
        if !self.is_admins_own() {
            return Ok(false);
        }
        if !self.user.two_factor_enabled {
            return Ok(true);
        }
        Ok(session_sign_in::proved(client, &self.session.id).await? >= Proved::SecondFactor)
    }
}

pub enum Lookup {
    /// No session cookie, or its signature does not verify: nothing to clear.
    Absent,
    /// The signature verified but the session is unknown or expired: cookies should be cleared.
    Gone,
    Found(Box<CurrentSession>),
}

/// The verified session token carried by the request, if any.
pub fn verified_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let wire = cookie::find(headers, &state.cookies.session_token)?;
    state.secrets().verify_cookie(wire)
}

pub fn has_dont_remember(state: &AppState, headers: &HeaderMap) -> bool {
    cookie::find(headers, &state.cookies.dont_remember)
        .and_then(|v| state.secrets().verify_cookie(v))
        .is_some()
}

/// Looks the session up in the database (never trusting anything but the signed token).
/// Expired sessions are deleted on sight.
pub async fn lookup(state: &AppState, headers: &HeaderMap) -> ApiResult<Lookup> {
    let Some(token) = verified_token(state, headers) else {
        return Ok(Lookup::Absent);
    };
    let client = state.db().await?;
    let Some((session, user)) = sessions::find_with_user(&client, &token).await? else {
        return Ok(Lookup::Gone);
    };
    if session.expires_at <= Utc::now() {
        sessions::delete_by_token(&client, &token).await?;
        return Ok(Lookup::Gone);
    }
    Ok(Lookup::Found(Box::new(CurrentSession {
        session,
        user,
        dont_remember: has_dont_remember(state, headers),
    })))
}

/// Like `lookup`, but answers `401 UNAUTHORIZED` when there is no live session.
pub async fn require(state: &AppState, headers: &HeaderMap) -> ApiResult<CurrentSession> {
    match lookup(state, headers).await? {
        Lookup::Found(s) => Ok(*s),
        _ => Err(ApiError::unauthorized()),
    }
}

/// Like `require`, but also `403 SESSION_NOT_FRESH` when the session was created more than
/// `freshAge` ago (BetterAuth's `freshSessionMiddleware`).
pub async fn require_fresh(state: &AppState, headers: &HeaderMap) -> ApiResult<CurrentSession> {
    let current = require(state, headers).await?;
    let fresh_age = Duration::from_std(state.config.session.fresh_age).unwrap_or(Duration::days(1));
    if current.session.created_at + fresh_age < Utc::now() {
        return Err(ApiError::forbidden(
            error_codes::SESSION_NOT_FRESH,
            "Session is not fresh",
        ));
    }
    Ok(current)
}

/// A freshly created session and the cookies that hand it to the browser.
pub struct Issued {
    pub session: Session,
    pub cookies: Vec<String>,
    /// How many of the user's sessions it ended, the least recently used beyond
    /// [`sessions::MAX_LIVE_PER_USER`].
    pub ended: u64,
}

impl Issued {
    /// Flushes the get-session cache when the issue ended sessions; call once it is committed
    /// (before, a get-session could cache an ended one again). The cache's middleware leaves
    /// sign-in and sign-up to their handler, and a provider's callback is a GET: this is their
    /// flush.
    pub fn flush_ended(&self, state: &AppState) {
        if self.ended > 0 {
            state.session_cache.invalidate_all();
        }
    }
}

/// Replaces the current session with a new one (after a privilege change), keeping its
/// remember-me choice, and recording that it `proved` (see [`proved`]): issues the new session
/// first, then deletes the old token. `401` when the current session ended while the request ran
/// (a ban, a reset, signing out everywhere): the request was checked before, and its new session
/// would outlive the end.
pub async fn rotate(
    state: &AppState,
    client: &mut db::Client,
    current: &CurrentSession,
    proved: Proved,
    ip: &str,
    headers: &HeaderMap,
) -> ApiResult<Issued> {
    let Some(issued) = issue_if_still(
        state,
        client,
        &current.user.id,
        StillSo::SessionLive(&current.session.token),
        proved,
        !current.dont_remember,
        ip,
        &crate::client_ip::user_agent(headers),
    )
    .await?
    else {
        // The request's changes before the rotation (a second factor turned off) stand, and the
        // session cache flushes by itself only after a success.
        state.session_cache.invalidate_all();
        return Err(ApiError::unauthorized());
    };
    sessions::delete_by_token(&*client, &current.session.token).await?;
    Ok(issued)
}

/// What the sign-in that opened `current` proved, which a session replacing it inherits (with
/// what the replacing request proved besides). Read before the new session is written: the
/// record goes only with its session, which the new one's write then finds live or refuses.
pub async fn proved(client: &db::Client, current: &CurrentSession) -> ApiResult<Proved> {
    Ok(session_sign_in::proved(client, &current.session.id).await?)
}

/// What must still be so when a sign-in's session is written: the user is not banned, and...
pub enum StillSo<'a> {
    /// ...nothing more (a sign-in with a provider).
    NotBanned,
    /// ...the credential's stored hash is still this one (a sign-in with the password).
    PasswordHash(&'a str),
    /// ...this two-factor challenge (its `verification` identifier) is still pending; it is taken
    /// (the second step of a sign-in).
    ChallengePending(&'a str),
    /// ...the session with this token is still live (a session replacing it); held until the
    /// new one is written, so that ending it alone waits too. [`issue_if_still`] takes it for the
    /// session replaced, which the bound of live sessions does not count beside the new one.
    SessionLive(&'a str),
}

/// [`issue`] for a sign-in (or a session replacing one), or `None` when what it rests on
/// (`still`) has changed by the time the session is written. The check and the insert happen
/// under a share lock on the user's row, which everything that ends all the user's sessions
/// waits for before deleting them (see [`sessions::delete_all_for_user`]): a sign-in racing a
/// password reset or a ban either sees it and is refused, or is committed before the delete,
/// which then ends it.
#[allow(clippy::too_many_arguments)]
pub async fn issue_if_still(
    state: &AppState,
    client: &mut db::Client,
    user_id: &str,
    still: StillSo<'_>,
    proved: Proved,
    remember: bool,
    ip: &str,
    user_agent: &str,
) -> ApiResult<Option<Issued>> {
    // The session the new one replaces, which is no session beside it.
    let replacing = match still {
        StillSo::SessionLive(token) => Some(token),
        _ => None,
    };
    let tx = client.transaction().await?;
    if !still_so(&tx, user_id, &[still]).await? {
        return Ok(None);
    }
    let issued = issue(
        state, &tx, user_id, proved, remember, ip, user_agent, replacing,
    )
    .await?;
    tx.commit().await?;
    issued.flush_ended(state);
    Ok(Some(issued))
}

/// Whether `user_id` exists, is not banned and every one of `conditions` holds, read under a
/// share lock on the user's row taken in `tx`, which holds it until it ends: everything that
/// ends all the user's sessions (a reset, a ban) waits for it.
pub async fn still_so(
    tx: &impl deadpool_postgres::GenericClient,
    user_id: &str,
    conditions: &[StillSo<'_>],
) -> ApiResult<bool> {
    // The lock first, in a statement of its own: the reads below then see whatever a reset or a
    // ban committed before it was granted.
    if !sessions::hold_user_while_issuing(tx, user_id).await? {
        return Ok(false);
    }
    let row = tx
        .query_one(
            &format!(
                r#"select a."password", {}
                   from "user" u left join "account" a on a."userId" = u."id" and a."providerId" = $2
                   where u."id" = $1"#,
                db::users::ban_runs("now()")
            ),
            &[&user_id, &db::accounts::CREDENTIAL],
        )
        .await?;
    let (stored, banned): (Option<String>, bool) = (row.get(0), row.get(1));
    if banned {
        return Ok(false);
    }
    for condition in conditions {
        let holds = match condition {
            StillSo::NotBanned => true,
            StillSo::PasswordHash(hash) => stored.as_deref() == Some(*hash),
            StillSo::ChallengePending(identifier) => {
                db::verification::take(tx, identifier).await?.is_some()
            }
            StillSo::SessionLive(token) => {
                sessions::live_and_held_by_token(tx, token, user_id).await?
            }
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Creates a session for `user_id`, recording what opening it `proved` (in `client`, which a
/// caller gives as a transaction that writes the session and the record together), and ends the
/// user's least recently used beyond [`sessions::MAX_LIVE_PER_USER`] (the caller calls
/// [`Issued::flush_ended`] once committed), the session of token `replacing` (which the caller
/// deletes next) not counted. Sessions are issued to a user one at a time.
/// `remember: false` gives a one-day session in a browser-session cookie plus the signed
/// `dont_remember` marker, as BetterAuth does.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    state: &AppState,
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
    proved: Proved,
    remember: bool,
    ip: &str,
    user_agent: &str,
    replacing: Option<&str>,
) -> ApiResult<Issued> {
    let token = crate::ids::new_session_token();
    let lifetime = if remember {
        Duration::from_std(state.config.session.expires_in).unwrap_or(Duration::days(7))
    } else {
        Duration::days(1)
    };
    sessions::issue_one_at_a_time(client, user_id).await?;
    let session = sessions::insert(
        client,
        &sessions::NewSession {
            user_id,
            token: &token,
            expires_at: db::now_ms() + lifetime,
            ip_address: ip,
            user_agent,
            impersonated_by: None,
        },
    )
    .await?;
    session_sign_in::record(client, &session.id, proved).await?;
    let ended = sessions::end_least_recently_used(
        client,
        sessions::Holder::User(user_id),
        &session.id,
        replacing,
    )
    .await?;
    Ok(Issued {
        cookies: session_cookies(state, &token, remember),
        session,
        ended,
    })
}

/// `Set-Cookie` values carrying a session token.
pub fn session_cookies(state: &AppState, token: &str, remember: bool) -> Vec<String> {
    let names = &state.cookies;
    let value = cookie::sign_for_cookie(state.secret(), token);
    if remember {
        let max_age = state.config.session.expires_in.as_secs() as i64;
        vec![names.set_cookie(&names.session_token, &value, Some(max_age))]
    } else {
        vec![
            names.set_cookie(&names.session_token, &value, None),
            dont_remember_cookie(state),
        ]
    }
}

/// The signed `dont_remember` marker (`rememberMe: false`), a browser-session cookie.
pub fn dont_remember_cookie(state: &AppState) -> String {
    let names = &state.cookies;
    names.set_cookie(
        &names.dont_remember,
        &cookie::sign_for_cookie(state.secret(), "true"),
        None,
    )
}
