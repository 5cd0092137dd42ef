//! Configuration in ZooKeeper's own formats: zoo.cfg, dataDir/myid and `-D` system properties.

pub mod member_id;
pub mod properties;
pub mod server_spec;
pub mod zoocfg;

pub use zoocfg::{ConfigError, ServerConfig};
