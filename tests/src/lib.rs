//! Test harness: emulators and recorders on 127.0.0.1, started by the tests themselves.
//!
//! - [`moto`]: one moto server per test binary (AWS wire protocol), stopped when the binary exits.
//! - [`smtp`]: a recording SMTP server.
//! - [`http_recorder`]: a recording HTTP server standing in for third-party APIs.
//! - [`aws`]: SDK clients pointed at moto, and the table created from `template.yaml`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod alerts;
pub mod aws;
pub mod counting;
pub mod fault_proxy;
pub mod fixture_shop;
pub mod http_recorder;
pub mod lambda;
pub mod local_app;
pub mod moto;
pub mod smtp;

use std::net::TcpListener;
use std::path::PathBuf;

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A tool from the project's virtualenv (`.tools/venv/bin`), falling back to `PATH`.
pub fn tool(name: &str) -> PathBuf {
    let local = workspace_root().join(".tools/venv/bin").join(name);
    if local.exists() {
        local
    } else {
        PathBuf::from(name)
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free port on 127.0.0.1")
}

/// A guarded fetcher without retries that may also reach `port` on loopback (a fixture shop
/// or a recorder); every other address rule stays as in production.
pub fn loopback_fetcher(port: u16) -> dealpulse_fetch::Fetcher {
    dealpulse_fetch::Fetcher::new(
        dealpulse_fetch::FetchConfig {
            retries: 0,
            policy: dealpulse_fetch::AddressPolicy {
                loopback_ports: std::collections::BTreeSet::from([port]),
                ..dealpulse_fetch::AddressPolicy::default()
            },
            ..dealpulse_fetch::FetchConfig::default()
        },
        std::sync::Arc::new(dealpulse_fetch::SystemLookup),
    )
    .unwrap()
}

/// A unique suffix for names created in shared emulators.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid_like())
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        jiff::Timestamp::now().as_nanosecond() ^ (std::process::id() as i128) << 64
    )
}
