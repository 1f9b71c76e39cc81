//! The lite renderer must produce exactly what tera produces, for every generated and scaffolded
//! file, and must cover every template of a generated file (or `stackr generate` is slow again).

use crate::common;

use std::path::Path;

use common::{fixture_plan, FIXTURES};
use stackr::plan::Plan;
use stackr::render::{
    parse_lite, render_generated, scaffold, tera_only, tera_renders, RenderedFile, GENERATED,
};

/// A larger stack exercising what the fixtures do not: many services, values a template must
/// escape (`"`, `\`, `${`), explicit ports, services without a worker.
fn varied_plan() -> Plan {
    let mut services = vec![
        r#"{ "name": "auth", "kind": "auth", "trustedOrigins": ["https://a.example", "http://b.example:3000"] }"#
            .to_owned(),
    ];
    for i in 1..40 {
        let flavor = ["standard", "role-gated", "flexible", "none"][i % 4];
        let roles = if flavor == "role-gated" {
            r#", "roles": ["finance", "audit_2"]"#
        } else {
            ""
        };
        let extra = match i % 5 {
            0 => r#", "environment": { "QUOTE": "say \"hi\"", "SLASH": "a\\b", "NIX": "${x}" }"#,
            1 => r#", "worker": false"#,
            2 => &format!(r#", "port": {}, "workerConcurrency": 3"#, 9000 + i),
            _ => "",
        };
        services.push(format!(
            r#"{{ "name": "svc-{i}", "authMiddleware": "{flavor}"{roles}{extra} }}"#
        ));
    }
    let text = format!(
        "{{ \"name\": \"varied\", \"services\": [\n{}\n] }}\n",
        services.join(",\n")
    );
    let (_, model) =
        stackr::project::check_config_text(Path::new("stackr.config.json"), &text).unwrap();
    stackr::plan::plan(&model)
}

/// Every generated and scaffolded file of `plan`.
fn all_files(plan: &Plan) -> Vec<RenderedFile> {
    let mut files = render_generated(plan).unwrap();
    files.extend(scaffold::project_files(plan).unwrap());
    for service in &plan.services {
        files.extend(scaffold::service_crate(plan, service).unwrap());
    }
    files
}

#[test]
fn lite_renderer_output_is_byte_identical_to_tera() {
    let plans: Vec<(String, Plan)> = FIXTURES
        .iter()
        .chain(&["fleet"])
        .map(|f| (f.to_string(), fixture_plan(f)))
        .chain([("varied".to_owned(), varied_plan())])
        .collect();
    for (name, plan) in plans {
        let lite = all_files(&plan);
        let tera = tera_only(|| all_files(&plan));
        assert_eq!(lite.len(), tera.len());
        for (ours, reference) in lite.iter().zip(&tera) {
            assert_eq!(ours.path, reference.path);
            assert!(
                ours.content == reference.content,
                "{name}: {} differs from tera's rendering\n--- lite\n{}\n--- tera\n{}",
                ours.path,
                ours.content,
                reference.content
            );
        }
    }
}

#[test]
fn every_generated_file_renders_without_tera() {
    for plan in FIXTURES
        .iter()
        .chain(&["fleet"])
        .map(|f| fixture_plan(f))
        .chain([varied_plan()])
    {
        let before = tera_renders();
        render_generated(&plan).unwrap();
        assert_eq!(
            tera_renders(),
            before,
            "a generated file of `{}` fell back to tera, which makes `stackr generate` slow",
            plan.project
        );
    }
    let parsed = parse_lite();
    for artifact in GENERATED
        .iter()
        .filter(|a| a.path != stackr::config::SCHEMA_FILE)
    {
        let template = format!("{}.tera", artifact.path);
        let (_, result) = parsed
            .iter()
            .find(|(name, _)| *name == template)
            .unwrap_or_else(|| panic!("no template {template}"));
        if let Err(why) = result {
            panic!("{template} falls back to tera, which makes `stackr generate` slow: {why}");
        }
    }
}
