//! `config -c`: the client connection string derived from the ensemble's dynamic config.
//!
//! Mirrors ZooKeeper's `ConfigUtils.getClientConfigStr`: `<version> host:port,host:port` built
//! from each `server.N=...;[clientHost:]clientPort` line, in the order of the config.

/// The client address part of a `server.N` value, `host:port`, if it has one.
fn client_address(value: &str) -> Option<String> {
    let (_, client) = value.split_once(';')?;
    let client = client.trim();
    match client.rsplit_once(':') {
        Some((host, port)) => Some(format!(
            "{}:{port}",
            host.trim_start_matches('[').trim_end_matches(']')
        )),
        None => Some(format!("0.0.0.0:{client}")),
    }
}

/// `version host:port,...` for the config text stored in `/zookeeper/config`.
pub fn client_config_string(config: &str) -> String {
    let mut version = "";
    let mut servers = Vec::new();
    for line in config.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "version" {
            version = value;
        }
        if key.starts_with("server.") {
            servers.push(client_address(value).unwrap_or_default());
        }
    }
    format!("{version} {}", servers.join(","))
}

#[cfg(test)]
mod tests {
    use super::client_config_string;

    #[test]
    fn builds_connect_string() {
        let config = "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n\
                      server.2=127.0.0.2:2888:3888:participant;2182\nversion=100000000\n";
        assert_eq!(
            client_config_string(config),
            "100000000 127.0.0.1:2181,0.0.0.0:2182"
        );
    }

    #[test]
    fn standalone_has_no_servers() {
        assert_eq!(client_config_string(""), " ");
    }
}
