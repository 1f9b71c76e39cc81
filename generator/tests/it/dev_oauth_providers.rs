//! The dev `secrets` process with sign-in providers, run for real: it refuses to let the stack
//! start while a provider's secret file is missing (naming each one), and once they are there it
//! writes auth's providers file, which names the secret files and holds no secret.

use crate::common;

use common::bash;
use serde_json::Value;

const CONFIG: &str = r#"{
  "name": "signin",
  "services": [ { "name": "auth", "kind": "auth", "oauthProviders": [
    { "id": "google", "preset": "google", "clientId": "1234-abc.apps.googleusercontent.com" },
    { "id": "apple", "preset": "apple", "clientId": "com.example.web", "teamId": "TEAM123456", "keyId": "KEY1234567" }
  ] } ]
}"#;

#[test]
fn the_secrets_process_wants_each_provider_secret_then_writes_the_providers_file() {
    let files = stackr::generate_in_memory(CONFIG).unwrap();
    let yaml = &files
        .iter()
        .find(|f| f.path == "process-compose.yaml")
        .unwrap()
        .content;
    let compose: Value = serde_yaml::from_str(yaml).unwrap();
    let script = compose["processes"]["secrets"]["command"].as_str().unwrap();
    let env = compose["processes"]["auth-api"]["environment"]
        .as_array()
        .unwrap();
    assert!(
        env.iter()
            .any(|e| e == "AUTH_OAUTH_PROVIDERS_FILE=.stackr/oauth-providers.json"),
        "{env:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();

    let missing = bash(root, script);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains(".stackr/secrets/oauth-google-client-secret")
            && stderr.contains(".stackr/secrets/oauth-apple-private-key"),
        "{stderr}"
    );
    assert!(!root.join(".stackr/oauth-providers.json").exists());

    std::fs::write(
        root.join(".stackr/secrets/oauth-google-client-secret"),
        "g-s3cret",
    )
    .unwrap();
    std::fs::write(
        root.join(".stackr/secrets/oauth-apple-private-key"),
        "-----BEGIN PRIVATE KEY-----",
    )
    .unwrap();
    let ok = bash(root, script);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let text = std::fs::read_to_string(root.join(".stackr/oauth-providers.json")).unwrap();
    assert!(
        !text.contains("g-s3cret") && !text.contains("PRIVATE KEY"),
        "{text}"
    );
    let providers: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        providers,
        serde_json::json!([
            { "providerId": "google", "preset": "google",
              "clientId": "1234-abc.apps.googleusercontent.com",
              "clientSecretFile": ".stackr/secrets/oauth-google-client-secret" },
            { "providerId": "apple", "preset": "apple", "clientId": "com.example.web",
              "teamId": "TEAM123456", "keyId": "KEY1234567",
              "privateKeyFile": ".stackr/secrets/oauth-apple-private-key" }
        ])
    );
}
