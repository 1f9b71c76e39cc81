//! Applies the `{%-` / `-%}` markers the way tera does: a left marker trims the end of the text
//! right before the tag, a right marker trims the start of the text right after it, a block tag's
//! inner markers trim the start and end of its body, and text left empty disappears.

use super::syntax::{Node, Ws};

/// Trims the end of the last node when it is text, dropping it if nothing is left.
fn trim_end_of_last(nodes: &mut Vec<Node>) {
    if let Some(Node::Text(text)) = nodes.last_mut() {
        let kept = text.trim_end().len();
        text.truncate(kept);
        if text.is_empty() {
            nodes.pop();
        }
    }
}

/// `body_ws`: for a block body, whether its opening tag trims the body's start (`left`) and its
/// closing tag the body's end (`right`).
pub fn remove_whitespace(nodes: Vec<Node>, body_ws: Option<Ws>) -> Vec<Node> {
    let mut out = Vec::with_capacity(nodes.len());
    let mut previous_was_text = false;
    let mut trim_start_of_next = body_ws.is_some_and(|ws| ws.left);
    for node in nodes {
        match node {
            Node::Text(text) => {
                previous_was_text = true;
                let text = if std::mem::take(&mut trim_start_of_next) {
                    text.trim_start().to_owned()
                } else {
                    text
                };
                if !text.is_empty() {
                    out.push(Node::Text(text));
                }
                continue;
            }
            Node::Comment(ws) | Node::Var(ws, _) | Node::Set(ws, _, _) => {
                if previous_was_text && ws.left {
                    trim_end_of_last(&mut out);
                }
                trim_start_of_next = ws.right;
                out.push(node);
            }
            Node::For {
                start,
                end,
                var,
                container,
                body,
            } => {
                if previous_was_text && start.left {
                    trim_end_of_last(&mut out);
                }
                trim_start_of_next = end.right;
                let body_ws = Ws {
                    left: start.right,
                    right: end.left,
                };
                out.push(Node::For {
                    start,
                    end,
                    var,
                    container,
                    body: remove_whitespace(body, Some(body_ws)),
                });
            }
            Node::If {
                conditions,
                otherwise,
                end,
            } => {
                trim_start_of_next = end.right;
                let mut trimmed: Vec<(Ws, _, Vec<Node>)> = Vec::with_capacity(conditions.len());
                for (ws, condition, body) in conditions {
                    if ws.left {
                        match trimmed.last_mut() {
                            None if previous_was_text => trim_end_of_last(&mut out),
                            None => {}
                            Some((_, _, previous)) => trim_end_of_last(previous),
                        }
                    }
                    let body = remove_whitespace(
                        body,
                        Some(Ws {
                            left: ws.right,
                            right: false,
                        }),
                    );
                    trimmed.push((ws, condition, body));
                }
                let otherwise = match otherwise {
                    Some((else_ws, body)) => {
                        if else_ws.left {
                            if let Some((_, _, previous)) = trimmed.last_mut() {
                                trim_end_of_last(previous);
                            }
                        }
                        let mut body = remove_whitespace(
                            body,
                            Some(Ws {
                                left: else_ws.right,
                                right: false,
                            }),
                        );
                        if end.left {
                            trim_end_of_last(&mut body);
                        }
                        Some((else_ws, body))
                    }
                    None => {
                        if end.left {
                            if let Some((_, _, previous)) = trimmed.last_mut() {
                                trim_end_of_last(previous);
                            }
                        }
                        None
                    }
                };
                out.push(Node::If {
                    conditions: trimmed,
                    otherwise,
                    end,
                });
            }
        }
        previous_was_text = false;
    }
    if body_ws.is_some_and(|ws| ws.right) {
        trim_end_of_last(&mut out);
    }
    out
}
