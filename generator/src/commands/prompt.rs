//! The questions `init` and `add service` ask on a terminal for what no flag said: the base
//! services, each one's guard flavor and, for `role-gated`, its roles. Off a terminal (a script,
//! CI, a pipe) nothing is asked and the flags' defaults hold, exactly as before.

use std::io::IsTerminal;

use anyhow::Result;

use super::init::split_list;
use crate::config::AuthMiddleware;

/// What a question needs from whoever answers it: a terminal, or a script in tests.
pub trait Asker {
    /// The index of the choice picked among `choices`, `default` preselected.
    fn choose(&mut self, question: &str, choices: &[String], default: usize) -> Result<usize>;
    /// A line of text; `default` when the answer is empty.
    fn text(&mut self, question: &str, default: &str) -> Result<String>;
}

/// Asks on the terminal (arrow keys to choose, Enter to accept the default).
pub struct Terminal;

impl Asker for Terminal {
    fn choose(&mut self, question: &str, choices: &[String], default: usize) -> Result<usize> {
        Ok(dialoguer::Select::new()
            .with_prompt(question)
            .items(choices)
            .default(default)
            .interact()?)
    }

    fn text(&mut self, question: &str, default: &str) -> Result<String> {
        let mut input = dialoguer::Input::<String>::new()
            .with_prompt(question)
            .allow_empty(true);
        // An empty default would show as `[]`.
        if !default.is_empty() {
            input = input.default(default.to_owned());
        }
        Ok(input.interact_text()?)
    }
}

/// Whether questions can be asked: the answers come from a terminal and the questions, which
/// dialoguer draws on stderr, reach one.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The flavors offered, in the order shown, each with what it lets through.
const FLAVORS: [(AuthMiddleware, &str); 4] = [
    (AuthMiddleware::Standard, "any signed-in user"),
    (
        AuthMiddleware::RoleGated,
        "signed-in users holding one of its roles (admins always)",
    ),
    (
        AuthMiddleware::Flexible,
        "signed-in users and their device sessions",
    ),
    (AuthMiddleware::None, "anyone: no guard"),
];

/// The base services to create; `default` when the answer is empty.
pub fn ask_services(ask: &mut dyn Asker, default: &[&str]) -> Result<Vec<String>> {
    let answer = ask.text("base services, comma-separated", &default.join(","))?;
    let names = split_list(&answer);
    Ok(if names.is_empty() {
        default
            .iter()
            .map(std::string::ToString::to_string)
            .collect()
    } else {
        names
    })
}

/// The guard of base service `name` and the roles it lets through (asked again while empty,
/// since a role-gated service without roles would let only admins in).
pub fn ask_guard(ask: &mut dyn Asker, name: &str) -> Result<(AuthMiddleware, Vec<String>)> {
    let choices: Vec<String> = FLAVORS
        .iter()
        .map(|(flavor, lets_in)| format!("{:<10}  {lets_in}", flavor.as_str()))
        .collect();
    let picked = ask.choose(&format!("guard of `{name}`"), &choices, 0)?;
    let flavor = FLAVORS
        .get(picked)
        .map_or(AuthMiddleware::Standard, |f| f.0);
    let mut roles = Vec::new();
    while flavor == AuthMiddleware::RoleGated && roles.is_empty() {
        roles = split_list(&ask.text(
            &format!("roles `{name}` lets through, comma-separated (e.g. finance,audit)"),
            "",
        )?);
    }
    Ok((flavor, roles))
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// Answers from a script, recording each question.
    #[derive(Default)]
    struct Script {
        answers: VecDeque<&'static str>,
        questions: Vec<String>,
    }

    impl Script {
        fn answering(answers: &[&'static str]) -> Self {
            Script {
                answers: answers.iter().copied().collect(),
                questions: Vec::new(),
            }
        }

        fn next(&mut self, question: &str) -> &'static str {
            self.questions.push(question.to_owned());
            self.answers.pop_front().expect("a scripted answer")
        }
    }

    impl Asker for Script {
        fn choose(&mut self, question: &str, choices: &[String], default: usize) -> Result<usize> {
            let answer = self.next(question);
            Ok(choices
                .iter()
                .position(|c| c.split_whitespace().next() == Some(answer))
                .unwrap_or(default))
        }

        fn text(&mut self, question: &str, default: &str) -> Result<String> {
            let answer = self.next(question);
            Ok(if answer.is_empty() { default } else { answer }.to_owned())
        }
    }

    #[test]
    fn every_flavor_can_be_picked_and_only_role_gated_asks_for_roles() {
        for (flavor, _) in FLAVORS {
            if flavor == AuthMiddleware::RoleGated {
                continue;
            }
            let mut script = Script::answering(&[flavor.as_str()]);
            assert_eq!(ask_guard(&mut script, "billing").unwrap(), (flavor, vec![]));
            assert_eq!(script.questions, ["guard of `billing`"]);
        }
    }

    #[test]
    fn role_gated_asks_for_roles_until_it_has_some() {
        let mut script = Script::answering(&["role-gated", "", " , ", "finance, audit"]);
        let (flavor, roles) = ask_guard(&mut script, "billing").unwrap();
        assert_eq!(flavor, AuthMiddleware::RoleGated);
        assert_eq!(roles, ["finance", "audit"]);
        assert_eq!(script.questions.len(), 4, "{:?}", script.questions);
    }

    #[test]
    fn services_default_when_the_answer_is_empty() {
        let mut script = Script::answering(&[""]);
        assert_eq!(ask_services(&mut script, &["core"]).unwrap(), ["core"]);
        let mut script = Script::answering(&["shop, billing,"]);
        assert_eq!(
            ask_services(&mut script, &["core"]).unwrap(),
            ["shop", "billing"]
        );
    }
}
