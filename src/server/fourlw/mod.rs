//! The admin surface's presentation layer, in ZooKeeper's exact formats.
//!
//! Probes, dashboards and tools written for ZooKeeper (zkServer.sh, kazoo, go-zookeeper's
//! `FLWSrvr`, Prometheus exporters, Grafana dashboards, Kubernetes probes) parse what
//! ZooKeeper prints. To work unchanged against us they must see the same bytes, so this
//! module renders one plain-data [`AdminSnapshot`] three ways:
//!
//! - [`text`]: four-letter words (`ruok`, `srvr`, `stat`, `mntr`, `conf`, `cons`, `dump`, …)
//!   with the 4-byte code sniffing and whitelist of [`command`];
//! - [`admin`]: AdminServer `/commands/<name>` JSON;
//! - [`prometheus`]: the `/metrics` text exposition of ZooKeeper's Prometheus provider.
//!
//! Everything here is pure: the server core applies a command's [`Effect`] (resets, trace
//! mask), fills the snapshot (only the lists [`Detail`] asks for), and calls a renderer.
//! The formats were read from Apache ZooKeeper 3.9 (`release-3.9.5`); each renderer cites
//! the Java class it reproduces.

pub mod admin;
pub mod command;
pub mod java;
pub mod model;
pub mod monitor;
pub mod prometheus;
pub mod replication;
pub mod text;

#[cfg(test)]
mod fixture;

pub use admin::{AdminCommand, AdminResponse, admin_response};
pub use command::{Detail, Dispatch, Effect, FourLetterWord, Whitelist, dispatch, not_whitelisted};
pub use model::*;
pub use prometheus::{PROMETHEUS_CONTENT_TYPE, prometheus_text};
pub use text::{ZK_NOT_SERVING, four_letter_word, render as render_four_letter_word};

/// Defines the claimed ZooKeeper release once, for both the constant and `concat!`.
macro_rules! zookeeper_release {
    () => {
        "3.9.4"
    };
}

/// The ZooKeeper release whose wire protocol and admin formats we implement.
pub const ZOOKEEPER_RELEASE: &str = zookeeper_release!();

/// What we report where ZooKeeper reports `Version.getVersionRevision()`
/// (`3.9.4-<git hash>`): the release we are compatible with, then `zk-<our version>` in
/// the place of the git hash. Tools take the `major.minor.micro` prefix (kazoo's
/// `server_version`, go-zookeeper's `FLWSrvr`), so they see 3.9.4.
pub const VERSION: &str = concat!(zookeeper_release!(), "-zk-", env!("CARGO_PKG_VERSION"));

/// The build time printed after "built on".
///
/// go-zookeeper's `FLWSrvr` rejects a `srvr` answer whose build time is not
/// `yyyy-MM-dd HH:mm <zone>`, so a date must be printed. Taken at compile time from
/// `ZK_BUILD_DATE` (already formatted) or `SOURCE_DATE_EPOCH` (reproducible builds);
/// without either, the Unix epoch stands in as an obviously-not-real date.
pub fn build_date() -> String {
    if let Some(date) = option_env!("ZK_BUILD_DATE") {
        return date.to_string();
    }
    let epoch = option_env!("SOURCE_DATE_EPOCH")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(0);
    java::build_time(epoch)
}

/// `Version.getFullVersion()`: `3.9.4-zk-0.1.0, built on 2026-01-01 00:00 UTC`, the string
/// in `srvr`'s first line, `zk_version` and `zookeeper.version`.
pub fn full_version() -> String {
    format!("{VERSION}, built on {}", build_date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parses_as_zookeeper_3_9_4() {
        assert!(VERSION.starts_with("3.9.4-zk-"));
        // kazoo: re.match(r"^([\d\.]+)", zookeeper.version) then split on '.'.
        let digits: String = VERSION
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        assert_eq!(digits, "3.9.4");
        // go-zookeeper FLWSrvr: version `[A-Za-z0-9.-]+`, then ", built on ",
        // then `yyyy-MM-dd HH:mm ZONE`.
        assert!(
            VERSION
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        );
        let full = full_version();
        let date = full
            .strip_prefix(&format!("{VERSION}, built on "))
            .unwrap_or_default();
        let b = date.as_bytes();
        assert_eq!(b.len(), 20, "{date}");
        assert!(date.ends_with(" UTC"));
        assert_eq!((b[4], b[7], b[10], b[13]), (b'-', b'-', b' ', b':'));
    }
}
