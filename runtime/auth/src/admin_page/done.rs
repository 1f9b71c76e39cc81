//! The message a page shows after an action (the user was banned, deleted...), carried by the
//! action's redirect as `done=<action>&proof=<token>`: the token, of [`super::csrf::token`], is
//! bound to the admin's session, to the action and to the user. A link of anyone else's
//! (`/users/x?done=ban`) shows nothing, where it had an admin read that a user was banned when
//! nothing happened.

use std::collections::HashMap;

use super::csrf;
use crate::state::AppState;

/// What the token of a message is bound to besides the session: never a form's name
/// (`<action>:<user>`, actions being a fixed list without `done`), so a message's token drives
/// no form.
fn purpose(action: &str, user_id: &str) -> String {
    format!("done:{action}:{user_id}")
}

/// The query that has the page after `action` on `user_id` say it was done.
pub fn query(state: &AppState, session_token: &str, action: &str, user_id: &str) -> String {
    let proof = csrf::token(state, session_token, &purpose(action, user_id));
    format!("done={action}&proof={proof}")
}

/// The action the request's query says was done on `user_id`, when its proof holds.
pub fn proven<'q>(
    state: &AppState,
    session_token: &str,
    query: &'q HashMap<String, String>,
    user_id: &str,
) -> Option<&'q str> {
    let action = query.get("done")?;
    let proof = query.get("proof")?;
    csrf::valid(state, session_token, &purpose(action, user_id), proof).then_some(action.as_str())
}
