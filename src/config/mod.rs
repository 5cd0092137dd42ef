//! Configuration in ZooKeeper's own formats: zoo.cfg, dataDir/myid and `-D` system properties.

pub mod dynamic;
pub mod member_id;
pub mod properties;
pub mod reconfig;
pub mod server_spec;
pub mod zoocfg;

pub use zoocfg::{ConfigError, ServerConfig};
