//! zoo.cfg as ZooKeeper reads it (QuorumPeerConfig): known keys become typed settings; unknown
//! keys are, as in ZooKeeper, system properties named `zookeeper.<key>`, which is also where
//! `-D` flags from SERVER_JVMFLAGS/JVMFLAGS land.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use thiserror::Error;
use tracing::warn;

use super::properties;
use super::server_spec::{ServerSpec, SpecError};

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{key}={value}: {why}")]
    Invalid {
        key: String,
        value: String,
        why: &'static str,
    },
    #[error(transparent)]
    Server(#[from] SpecError),
}

/// Every setting the server honours, with ZooKeeper's defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub tick_time: u32,
    pub init_limit: u32,
    pub sync_limit: u32,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub client_port: u16,
    pub client_port_address: IpAddr,
    pub max_client_cnxns: u32,
    pub min_session_timeout: u32,
    pub max_session_timeout: u32,
    pub snap_count: u64,
    pub autopurge_snap_retain_count: usize,
    pub autopurge_purge_interval_hours: u64,
    pub four_letter_whitelist: String,
    pub reconfig_enabled: bool,
    pub standalone_enabled: bool,
    pub servers: Vec<ServerSpec>,
    pub my_id: u64,
    pub force_sync: bool,
    pub jute_max_buffer: usize,
    pub extended_types_enabled: bool,
    pub super_digest: Option<String>,
    pub skip_acl: bool,
    pub admin_enable_server: bool,
    pub admin_server_address: IpAddr,
    pub admin_server_port: u16,
    /// Port of the Prometheus endpoint, when metricsProvider.className names Prometheus.
    pub metrics_port: Option<u16>,
    pub metrics_host: IpAddr,
    pub container_check_interval_ms: u64,
    pub container_max_per_minute: u64,
    pub container_max_never_used_interval_ms: u64,
    /// `readonlymode.enabled` (a Java system property in ZooKeeper, so also accepted as
    /// `-Dreadonlymode.enabled=true` in SERVER_JVMFLAGS/JVMFLAGS, or as a zoo.cfg key): an
    /// ensemble member without a quorum serves read-only clients instead of none.
    pub read_only_mode_enabled: bool,
    /// Settings as given, for `conf` and `envi`.
    pub raw: BTreeMap<String, String>,
}

impl ServerConfig {
    /// What `zk server` runs with no arguments: standalone on 127.0.0.1:2181, data under ./zk-data.
    pub fn standalone_default() -> ServerConfig {
        let text = "tickTime=2000\ndataDir=zk-data\nclientPort=2181\nclientPortAddress=127.0.0.1\n\
                    admin.serverAddress=127.0.0.1\n";
        ServerConfig::parse(text, &jvm_env())
            .unwrap_or_else(|_| unreachable!("the built-in configuration is valid"))
    }

    /// Reads a zoo.cfg file (and dataDir/myid) plus `-D` flags from the environment.
    pub fn from_file(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = ServerConfig::parse(&text, &jvm_env())?;
        let myid = cfg.data_dir.join("myid");
        if let Ok(s) = std::fs::read_to_string(&myid) {
            cfg.my_id = s.trim().parse().map_err(|_| ConfigError::Invalid {
                key: myid.display().to_string(),
                value: s.trim().to_string(),
                why: "myid must be a number",
            })?;
        }
        Ok(cfg)
    }

    /// Interprets zoo.cfg text. `jvm` holds `-D` properties, which win over the file.
    pub fn parse(text: &str, jvm: &BTreeMap<String, String>) -> Result<ServerConfig, ConfigError> {
        let raw = properties::parse(text);
        let mut props: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &raw {
            props.insert(k.clone(), v.clone());
            props.insert(format!("zookeeper.{k}"), v.clone());
        }
        for (k, v) in jvm {
            props.insert(k.clone(), v.clone());
        }
        let get = |k: &str| props.get(k).map(String::as_str);
        fn num<T: std::str::FromStr>(k: &str, v: Option<&str>, d: T) -> Result<T, ConfigError> {
            match v {
                None => Ok(d),
                Some(s) => s.trim().parse().map_err(|_| ConfigError::Invalid {
                    key: k.into(),
                    value: s.into(),
                    why: "not a number",
                }),
            }
        }
        let boolean = |k: &str, d: bool| match get(k) {
            None => Ok(d),
            Some(v) if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") || v.eq_ignore_ascii_case("no") => Ok(false),
            Some(v) => Err(ConfigError::Invalid {
                key: k.into(),
                value: v.into(),
                why: "expected true or false",
            }),
        };
        let addr = |k: &str, d: &str| -> Result<IpAddr, ConfigError> {
            let v = get(k).unwrap_or(d);
            v.parse().map_err(|_| ConfigError::Invalid {
                key: k.into(),
                value: v.into(),
                why: "expected an IP address",
            })
        };
        // Relative directories are relative to the working directory, as in ZooKeeper.
        let dir = PathBuf::from;
        let tick_time: u32 = num("tickTime", get("tickTime"), 3000)?;
        let data_dir = dir(get("dataDir").unwrap_or("zk-data"));
        let data_log_dir = get("dataLogDir")
            .map(dir)
            .unwrap_or_else(|| data_dir.clone());
        let mut servers = Vec::new();
        for (k, v) in &raw {
            if let Some(id) = k.strip_prefix("server.") {
                let id = id.parse().map_err(|_| ConfigError::Invalid {
                    key: k.clone(),
                    value: v.clone(),
                    why: "server id must be a number",
                })?;
                servers.push(ServerSpec::parse(id, v)?);
            }
        }
        let metrics_port = match get("metricsProvider.className") {
            Some(c) if c.contains("Prometheus") => Some(num(
                "metricsProvider.httpPort",
                get("metricsProvider.httpPort"),
                7000,
            )?),
            _ => None,
        };
        let jute = get("jute.maxbuffer").or(get("zookeeper.jute.maxbuffer"));
        let known = [
            "tickTime",
            "initLimit",
            "syncLimit",
            "dataDir",
            "dataLogDir",
            "clientPort",
            "clientPortAddress",
            "secureClientPort",
            "maxClientCnxns",
            "minSessionTimeout",
            "maxSessionTimeout",
            "snapCount",
            "autopurge.snapRetainCount",
            "autopurge.purgeInterval",
            "4lw.commands.whitelist",
            "reconfigEnabled",
            "standaloneEnabled",
            "dynamicConfigFile",
            "forceSync",
            "jute.maxbuffer",
            "extendedTypesEnabled",
            "DigestAuthenticationProvider.superDigest",
            "skipACL",
            "admin.enableServer",
            "admin.serverAddress",
            "admin.serverPort",
            "metricsProvider.className",
            "metricsProvider.httpPort",
            "metricsProvider.httpHost",
            "znode.container.checkIntervalMs",
            "znode.container.maxPerMinute",
            "znode.container.maxNeverUsedIntervalMs",
            "readonlymode.enabled",
        ];
        for k in raw.keys() {
            if !k.starts_with("server.") && !known.contains(&k.as_str()) {
                warn!(key = %k, "zoo.cfg key not used by this server; ignored");
            }
        }
        if get("secureClientPort").is_some() {
            warn!("secureClientPort is not supported yet; TLS clients cannot connect");
        }
        Ok(ServerConfig {
            tick_time,
            init_limit: num("initLimit", get("initLimit"), 10)?,
            sync_limit: num("syncLimit", get("syncLimit"), 5)?,
            data_dir,
            data_log_dir,
            client_port: num("clientPort", get("clientPort"), 2181)?,
            client_port_address: addr("clientPortAddress", "0.0.0.0")?,
            max_client_cnxns: num("maxClientCnxns", get("maxClientCnxns"), 60)?,
            min_session_timeout: num("minSessionTimeout", get("minSessionTimeout"), tick_time * 2)?,
            max_session_timeout: num(
                "maxSessionTimeout",
                get("maxSessionTimeout"),
                tick_time * 20,
            )?,
            snap_count: num("snapCount", get("zookeeper.snapCount"), 100_000)?,
            autopurge_snap_retain_count: num(
                "autopurge.snapRetainCount",
                get("autopurge.snapRetainCount"),
                3usize,
            )?
            .max(3),
            autopurge_purge_interval_hours: num(
                "autopurge.purgeInterval",
                get("autopurge.purgeInterval"),
                0,
            )?,
            four_letter_whitelist: get("4lw.commands.whitelist")
                .or(get("zookeeper.4lw.commands.whitelist"))
                .unwrap_or("srvr")
                .to_string(),
            reconfig_enabled: boolean("reconfigEnabled", false)?,
            standalone_enabled: boolean("standaloneEnabled", true)?,
            servers,
            my_id: 0,
            force_sync: boolean("zookeeper.forceSync", true)?,
            jute_max_buffer: num(
                "jute.maxbuffer",
                jute,
                crate::proto::frame::DEFAULT_MAX_BUFFER,
            )?,
            extended_types_enabled: boolean("zookeeper.extendedTypesEnabled", false)?,
            super_digest: get("zookeeper.DigestAuthenticationProvider.superDigest")
                .map(str::to_string),
            skip_acl: boolean("zookeeper.skipACL", false)?,
            read_only_mode_enabled: boolean("readonlymode.enabled", false)?,
            admin_enable_server: boolean("zookeeper.admin.enableServer", true)?,
            admin_server_address: addr("zookeeper.admin.serverAddress", "0.0.0.0")?,
            admin_server_port: num("admin.serverPort", get("zookeeper.admin.serverPort"), 8080)?,
            metrics_port,
            metrics_host: addr("metricsProvider.httpHost", "0.0.0.0")?,
            container_check_interval_ms: num(
                "znode.container.checkIntervalMs",
                get("zookeeper.znode.container.checkIntervalMs"),
                60_000,
            )?,
            container_max_per_minute: num(
                "znode.container.maxPerMinute",
                get("zookeeper.znode.container.maxPerMinute"),
                10_000,
            )?,
            container_max_never_used_interval_ms: num(
                "znode.container.maxNeverUsedIntervalMs",
                get("zookeeper.znode.container.maxNeverUsedIntervalMs"),
                0,
            )?,
            raw,
        })
    }

    /// Clamps a requested session timeout as ZooKeeper negotiates it.
    pub fn negotiate_timeout(&self, requested: i32) -> i32 {
        let lo = self.min_session_timeout as i32;
        let hi = (self.max_session_timeout as i32).max(lo);
        requested.clamp(lo, hi)
    }
}

/// `-D` properties from the environment variables ZooKeeper's scripts pass to the JVM.
fn jvm_env() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for var in ["JVMFLAGS", "SERVER_JVMFLAGS"] {
        if let Ok(v) = std::env::var(var) {
            m.extend(properties::jvm_flags(&v));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ServerConfig {
        ServerConfig::parse(text, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn zookeeper_defaults() {
        let c = parse("dataDir=/d\n");
        assert_eq!(c.tick_time, 3000);
        assert_eq!(c.min_session_timeout, 6000);
        assert_eq!(c.max_session_timeout, 60000);
        assert_eq!(c.client_port, 2181);
        assert_eq!(c.max_client_cnxns, 60);
        assert_eq!(c.four_letter_whitelist, "srvr");
        assert_eq!(c.data_log_dir, PathBuf::from("/d"));
        assert_eq!(c.negotiate_timeout(1), 6000);
        assert_eq!(c.negotiate_timeout(100_000), 60000);
    }

    #[test]
    fn unknown_keys_are_system_properties_and_jvm_flags_win() {
        let mut jvm = BTreeMap::new();
        jvm.insert("zookeeper.skipACL".to_string(), "yes".to_string());
        let c = ServerConfig::parse(
            "DigestAuthenticationProvider.superDigest=super:x\nextendedTypesEnabled=true\nskipACL=no\n",
            &jvm,
        )
        .unwrap();
        assert_eq!(c.super_digest.as_deref(), Some("super:x"));
        assert!(c.extended_types_enabled);
        assert!(c.skip_acl);
    }

    #[test]
    fn read_only_mode_is_off_unless_the_file_or_a_jvm_flag_enables_it() {
        assert!(!parse("dataDir=/d\n").read_only_mode_enabled);
        assert!(parse("readonlymode.enabled=true\n").read_only_mode_enabled);
        let mut jvm = BTreeMap::new();
        jvm.insert("readonlymode.enabled".to_string(), "true".to_string());
        assert!(
            ServerConfig::parse("dataDir=/d\n", &jvm)
                .unwrap()
                .read_only_mode_enabled
        );
    }

    #[test]
    fn bad_values_are_reported_with_their_key() {
        let e = ServerConfig::parse("tickTime=fast\n", &BTreeMap::new()).unwrap_err();
        assert_eq!(e.to_string(), "tickTime=fast: not a number");
    }
}
