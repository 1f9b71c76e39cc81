//! stackr-auth's integration tests, in one binary: each module is one suite, and
//! scripts/test.sh runs each in its own process.

mod admin_and_limits;
mod admin_api;
mod admin_dashboard;
mod admin_races;
mod adversarial;
mod behind_balancer;
mod binary_config;
mod change_email;
mod common;
mod core_flows;
mod dashboard_browser;
mod differential_account_info;
mod differential_admin;
mod differential_bearer;
mod differential_betterauth;
mod differential_change_email;
mod differential_two_factor_otp;
mod differential_user_fields;
mod get_session_connections;
mod housekeeping;
mod interop_betterauth;
mod mail_flows;
mod origin_and_provision;
mod password_upgrade;
mod secret_rotation;
mod session_lifecycle;
mod smtp_delivery;
mod social_apple;
mod social_github;
mod social_google;
mod social_oidc;
mod startup_wait;
mod two_factor;
mod two_factor_otp;
mod user_fields;
