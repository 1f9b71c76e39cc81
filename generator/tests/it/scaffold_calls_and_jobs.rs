//! The scaffold's two examples of what every service does, run for real under `stackr dev`: a
//! route of `core` calling `billing` with the user's cookie forwarded (billing's guard sees the
//! same user), and a route putting a job on core's own queue that core's worker completes. Auth
//! crashing then keeps its port: `stackr dev` holds it and hands it to the restarted auth.

use crate::common;

use std::time::{Duration, Instant};

use common::dev_stack::{use_free_ports, DevStack};
use common::http::{request, Response};
use common::local_build::use_local_runtime;
use common::{init_project, stackr, stderr};
use serde_json::Value;

struct Stack {
    auth: u16,
    origin: String,
    core: u16,
}

impl Stack {
    fn sign_up(&self, email: &str) -> (String, String) {
        let body = format!(r#"{{"name":"Test","email":"{email}","password":"a-long-password-1"}}"#);
        let answer = request(
            self.auth,
            "POST",
            "/api/auth/sign-up/email",
            &[("origin", &self.origin)],
            &body,
        )
        .expect("auth answers");
        assert_eq!(answer.status, 200, "sign-up: {}", answer.body);
        let cookie = answer
            .cookie("better-auth.session_token")
            .expect("a session cookie");
        (
            answer.json()["user"]["id"].as_str().unwrap().to_owned(),
            cookie,
        )
    }

    /// A request to core as the browser on auth's page would send it.
    fn core(&self, method: &str, path: &str, cookie: Option<&str>, body: &str) -> Response {
        let mut headers = vec![("origin", self.origin.as_str())];
        headers.extend(cookie.map(|c| ("cookie", c)));
        request(self.core, method, path, &headers, body).expect("core answers")
    }
}

#[test]
fn a_service_calls_another_as_the_user_and_its_worker_completes_its_jobs() {
    let (_parent, root) = init_project(&[]);
    let added = stackr(&root, &["add", "service", "billing"]);
    assert!(added.status.success(), "{}", stderr(&added));
    use_local_runtime(&root);
    use_free_ports(&root);
    let plan = stackr::project::load_project(&root).unwrap().plan;
    let port_of = |name: &str| plan.services.iter().find(|s| s.name == name).unwrap().port;
    let stack = Stack {
        auth: port_of("auth"),
        origin: plan.services[0].base_url.clone().unwrap(),
        core: port_of("core"),
    };
    let dev = DevStack::start(&root, &["--embedded"]);

    let (user_id, cookie) = stack.sign_up("ada@example.com");
    // core -> billing, as Ada: billing's own guard asked auth about Ada's cookie.
    let call = stack.core("GET", "/calls/billing/me", Some(&cookie), "");
    assert_eq!(call.status, 200, "{}", call.body);
    let call = call.json();
    assert_eq!(call["caller"], user_id.as_str());
    assert_eq!(call["answer"]["user"]["id"], user_id.as_str(), "{call}");
    assert_eq!(call["answer"]["user"]["email"], "ada@example.com");
    let anonymous = stack.core("GET", "/calls/billing/me", None, "");
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let unknown = stack.core("GET", "/calls/shipping/me", Some(&cookie), "");
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.json()["code"], "UNKNOWN_SERVICE");

    // core's API enqueues on core's queue; core's worker completes the job.
    let added = stack.core("POST", "/jobs", Some(&cookie), r#"{"message":"hello"}"#);
    assert_eq!(added.status, 202, "{}", added.body);
    let id = added.json()["id"].as_str().unwrap().to_owned();
    let within = Duration::from_secs(120);
    let deadline = Instant::now() + within;
    let done: Value = loop {
        let status = stack.core("GET", &format!("/jobs/{id}"), Some(&cookie), "");
        assert_eq!(status.status, 200, "{}", status.body);
        let status = status.json();
        if status["state"] == "completed" {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} was not completed within {within:?}: {status}\n{}",
            dev.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        done["returnValue"],
        serde_json::json!({ "echo": "hello" }),
        "{done}"
    );
    assert_eq!(done["data"]["userId"], user_id.as_str());
    let (_, other) = stack.sign_up("bob@example.com");
    let theirs = stack.core("GET", &format!("/jobs/{id}"), Some(&other), "");
    assert_eq!(theirs.status, 404, "another user's job: {}", theirs.body);

    // Auth crashes. Until its restart (2 s later) no other program may take its port, where the
    // browsers and the services' guards send every user's cookie.
    let auth_bin = &plan.services[0].api_bin;
    let auth_pid = process_of(&root, auth_bin);
    // SAFETY: kill(2) on the pid of this test's own stack's auth.
    unsafe { libc::kill(auth_pid as libc::pid_t, libc::SIGKILL) };
    let gap_ends = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < gap_ends {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", stack.auth)).is_err(),
            "another program bound auth's port {} while auth was down",
            stack.auth
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Sent while auth may still be starting: answered once it serves.
    let (cy, _) = stack.sign_up("cy@example.com");
    assert_ne!(process_of(&root, auth_bin), auth_pid);
    let call = stack.core("GET", "/calls/billing/me", Some(&cookie), "");
    assert_eq!(
        call.status, 200,
        "Ada's session after auth's restart: {}",
        call.body
    );
    assert_ne!(cy, user_id);

    let status = dev.stop();
    assert!(status.success(), "stackr dev exited with {status}");
}

/// The pid of the process of the stack in `root` running program `bin`.
fn process_of(root: &std::path::Path, bin: &str) -> u32 {
    let root = root.canonicalize().unwrap();
    let suffix = format!("/debug/{bin}");
    let found: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let program = cmdline.split(|&b| b == 0).next()?;
            let cwd = std::fs::read_link(entry.path().join("cwd")).ok()?;
            (String::from_utf8_lossy(program).ends_with(&suffix) && cwd == root).then_some(pid)
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {bin} running in {}: {found:?}",
        root.display()
    );
    found[0]
}
