//! Fixture projects under `tests/fixtures/`: `pristine` (a scaffolded stack, must be clean) and
//! one project per rule that breaks it. Expected findings are written into the fixture files
//! themselves: every line carrying `expect-lint: <rule>` must produce exactly one finding of
//! that rule (two markers, two findings), and no other line may produce any.

use std::path::{Path, PathBuf};

use stackr_lint::{lint_project, lint_project_report, Finding, RULES};

const MARKER: &str = "expect-lint: ";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `(file, line, rule)` for every marker in the fixture, sorted.
fn expected(root: &Path) -> Vec<(PathBuf, usize, String)> {
    let mut expected = Vec::new();
    for entry in walk(root) {
        let text = std::fs::read_to_string(&entry).unwrap();
        let file = entry.strip_prefix(root).unwrap().to_owned();
        for (index, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices(MARKER) {
                let rule: String = line[at + MARKER.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                    .collect();
                expected.push((file.clone(), index + 1, rule));
            }
        }
    }
    expected.sort();
    expected
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn actual(findings: &[Finding]) -> Vec<(PathBuf, usize, String)> {
    let mut actual: Vec<_> = findings
        .iter()
        .map(|f| (f.file.clone(), f.line, f.rule.to_owned()))
        .collect();
    actual.sort();
    actual
}

/// The fixture for `rule` has markers for that rule only, and the linter reports exactly them.
fn assert_fixture_matches_markers(rule: &str) -> Vec<Finding> {
    assert!(RULES.iter().any(|r| r.name == rule), "unknown rule {rule}");
    let root = fixture(rule);
    let expected = expected(&root);
    assert!(
        expected.len() >= 3,
        "fixture {rule} should mark several violations"
    );
    assert!(
        expected.iter().all(|(_, _, r)| r == rule),
        "fixture {rule} marks another rule"
    );
    let findings = lint_project(&root).unwrap();
    let messages: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        actual(&findings),
        expected,
        "findings:\n{}",
        messages.join("\n")
    );
    findings
}

/// The text of `file` at a finding's line and column.
fn source_at(root: &Path, finding: &Finding) -> String {
    let text = std::fs::read_to_string(root.join(&finding.file)).unwrap();
    let line = text.lines().nth(finding.line - 1).unwrap();
    line.chars().skip(finding.column - 1).collect()
}

#[test]
fn pristine_scaffold_is_clean() {
    let root = fixture("pristine");
    assert!(expected(&root).is_empty());
    let report = lint_project_report(&root).unwrap();
    let messages: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert!(report.findings.is_empty(), "{}", messages.join("\n"));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn identity_tables_in_a_base_service_are_found() {
    let findings = assert_fixture_matches_markers("no-auth-tables-outside-auth");
    let root = fixture("no-auth-tables-outside-auth");
    // Columns point at the table name itself, quoted or schema-qualified.
    for finding in findings
        .iter()
        .filter(|f| f.file.extension().is_some_and(|e| e == "sql"))
    {
        let at = source_at(&root, finding).to_lowercase();
        let name = at.trim_start_matches('"');
        assert!(
            ["user", "session", "account", "verification"]
                .iter()
                .any(|t| name.starts_with(t)),
            "{finding} points at {at:?}"
        );
    }
    // The auth service declares the same tables in the same fixture and is not reported.
    assert!(findings
        .iter()
        .all(|f| !f.file.starts_with("services/auth")));
}

#[test]
fn cross_service_imports_are_found() {
    assert_fixture_matches_markers("no-cross-service-imports");
}

#[test]
fn foreign_databases_are_found() {
    assert_fixture_matches_markers("no-foreign-database");
}

#[test]
fn trusted_identity_headers_are_found() {
    let findings = assert_fixture_matches_markers("no-trusted-identity-header");
    let root = fixture("no-trusted-identity-header");
    let literal = findings
        .iter()
        .find(|f| source_at(&root, f).starts_with("\"x-user-id\""));
    assert!(
        literal.is_some(),
        "the headers.get(\"x-user-id\") finding points at the literal"
    );
}

#[test]
fn unlisted_migrations_are_found() {
    let findings = assert_fixture_matches_markers("no-unlisted-migration");
    let core = findings
        .iter()
        .find(|f| f.file.ends_with("0002_bio.sql"))
        .unwrap();
    assert!(
        core.message
            .contains("include_str!(\"../migrations/0002_bio.sql\")"),
        "the finding says what to add: {core}"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for file in walk(from) {
        let target = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, target).unwrap();
    }
}

/// Appends `text` to a file and returns the 1-based line its first line landed on.
fn append(root: &Path, file: &str, text: &str) -> usize {
    let path = root.join(file);
    let mut content = std::fs::read_to_string(&path).unwrap();
    if !content.ends_with('\n') {
        content.push('\n');
    }
    let line = content.lines().count() + 1;
    content.push_str(text);
    std::fs::write(&path, content).unwrap();
    line
}

/// The pristine scaffold is clean because it is clean, not because nothing was looked at: one
/// violation added to it per rule is caught at the line it was added.
#[test]
fn pristine_scaffold_with_one_violation_per_rule_is_caught() {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&fixture("pristine"), copy.path());
    let root = copy.path();
    let mut expected = vec![
        (
            "services/core/migrations/0001_profile.sql",
            append(root, "services/core/migrations/0001_profile.sql", "CREATE TABLE Session (id text);\n"),
            "no-auth-tables-outside-auth",
        ),
        (
            "services/wallet/Cargo.toml",
            append(root, "services/wallet/Cargo.toml", "core-service = { path = \"../core\" }\n"),
            "no-cross-service-imports",
        ),
        (
            "services/core/src/profile.rs",
            append(root, "services/core/src/profile.rs", "const LEDGER: &str = \"postgres://wallet@127.0.0.1:54322/wallet\";\n"),
            "no-foreign-database",
        ),
        (
            "services/core/src/bin/api.rs",
            append(
                root,
                "services/core/src/bin/api.rs",
                "async fn spoofable(headers: HeaderMap) -> bool {\n    headers.contains_key(\"x-user-id\")\n}\n",
            ) + 1,
            "no-trusted-identity-header",
        ),
        (
            "services/core/migrations/0002_more.sql",
            {
                let file = root.join("services/core/migrations/0002_more.sql");
                std::fs::write(file, "CREATE TABLE badge (id text);\n").unwrap();
                1
            },
            "no-unlisted-migration",
        ),
    ];
    expected.sort();
    let findings = lint_project(root).unwrap();
    let mut actual: Vec<(&str, usize, &str)> = findings
        .iter()
        .map(|f| (f.file.to_str().unwrap(), f.line, f.rule))
        .collect();
    actual.sort();
    assert_eq!(actual, expected);
}

/// A crate under services/ that the config does not list is still linted (as a base service),
/// so dropping a service from the config cannot hide its code.
#[test]
fn unlisted_service_crates_are_linted_as_base_services() {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&fixture("pristine"), copy.path());
    let rogue = copy.path().join("services/rogue");
    std::fs::create_dir_all(rogue.join("migrations")).unwrap();
    std::fs::write(
        rogue.join("Cargo.toml"),
        "[package]\nname = \"rogue-service\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(
        rogue.join("migrations/0001.sql"),
        "CREATE TABLE \"user\" (id text);\n",
    )
    .unwrap();
    let report = lint_project_report(copy.path()).unwrap();
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.file.to_str().unwrap(), f.line, f.rule))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "services/rogue/migrations/0001.sql",
                1,
                "no-unlisted-migration"
            ),
            (
                "services/rogue/migrations/0001.sql",
                1,
                "no-auth-tables-outside-auth"
            )
        ]
    );
    assert!(report
        .warnings
        .iter()
        .any(|w| w.file == Path::new("services/rogue")));
}

/// The auth service's exemption comes from its `kind`, not its name or location: the same crate
/// declared as a base service is reported for the very tables it was allowed before.
#[test]
fn identity_tables_are_allowed_because_the_service_is_auth() {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&fixture("no-auth-tables-outside-auth"), copy.path());
    let config_path = copy.path().join("stackr.config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["services"][0]["kind"] = "base".into();
    // A valid config without an auth service: its services cannot use auth's guard.
    for service in config["services"].as_array_mut().unwrap() {
        service["authMiddleware"] = "none".into();
    }
    std::fs::write(&config_path, config.to_string()).unwrap();

    let findings = lint_project(copy.path()).unwrap();
    let in_auth: Vec<(&str, usize)> = findings
        .iter()
        .filter(|f| f.file.starts_with("services/auth") && f.rule == "no-auth-tables-outside-auth")
        .map(|f| (f.file.to_str().unwrap(), f.line))
        .collect();
    assert_eq!(
        in_auth,
        vec![
            ("services/auth/migrations/0001_identity.sql", 2),
            ("services/auth/migrations/0001_identity.sql", 11),
            ("services/auth/migrations/0001_identity.sql", 18),
            ("services/auth/migrations/0001_identity.sql", 25),
            ("services/auth/src/schema.rs", 3),
        ]
    );
}

/// A source file nested deeper than the parser can recurse is reported as not checked, not a
/// crash of the whole lint (the parser's recursion overflowed the stack); one nested deep but
/// within reach is checked as any other.
#[test]
fn a_file_nested_too_deeply_is_a_warning_not_a_crash() {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&fixture("pristine"), copy.path());
    let nested = |depth: usize| {
        format!(
            "pub fn f() -> i32 {{ {}1{} }}\n",
            "(".repeat(depth),
            ")".repeat(depth)
        )
    };
    let src = copy.path().join("services/core/src");
    std::fs::write(src.join("deep.rs"), nested(200_000)).unwrap();
    std::fs::write(src.join("nested.rs"), nested(1_990)).unwrap();
    let report = lint_project_report(copy.path()).unwrap();
    let about = |file: &str| {
        report
            .warnings
            .iter()
            .filter(|w| w.file.ends_with(file))
            .map(|w| w.message.clone())
            .collect::<Vec<_>>()
    };
    let deep = about("deep.rs");
    assert!(
        deep.len() == 1 && deep[0].contains("not checked at all") && deep[0].contains("nested"),
        "{deep:?}"
    );
    assert!(about("nested.rs").is_empty(), "{:?}", about("nested.rs"));
}
