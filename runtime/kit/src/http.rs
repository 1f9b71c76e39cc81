//! What the kit's HTTP clients (the guard's calls to auth, calls to other services) trust for an
//! `https://` URL: with `TLS_CA_FILE`, the deployment CA only, so a service on another host is
//! reached only if its certificate was issued by that CA for the URL's host name; without it,
//! the usual web roots. Neither goes through a proxy the environment names (`HTTP_PROXY`,
//! `ALL_PROXY`): it is meant for the outside world, and would see identity checks and users'
//! session cookies (in clear, on `http://` URLs).

use stackr_tls::TrustedCa;

pub(crate) fn client_builder(tls_ca: Option<&TrustedCa>) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder().no_proxy();
    match tls_ca {
        None => builder,
        Some(ca) => {
            // The PEM was parsed when TLS_CA_FILE was read; were it unreadable here, no root
            // would be trusted and every TLS call would fail closed.
            let certs = reqwest::Certificate::from_pem_bundle(ca.pem()).unwrap_or_default();
            certs
                .into_iter()
                .fold(builder.tls_built_in_root_certs(false), |b, cert| {
                    b.add_root_certificate(cert)
                })
        }
    }
}
