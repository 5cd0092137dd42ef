//! `server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]`.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid server line `{line}`: {why}")]
pub struct SpecError {
    pub line: String,
    pub why: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Participant,
    Observer,
}

/// One member of the ensemble as zoo.cfg lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub id: u64,
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
    pub role: Role,
    pub client_addr: Option<(String, u16)>,
}

impl ServerSpec {
    /// Parses the value of a `server.<id>` key.
    pub fn parse(id: u64, value: &str) -> Result<ServerSpec, SpecError> {
        let err = |why| SpecError {
            line: format!("server.{id}={value}"),
            why,
        };
        let (members, client) = match value.split_once(';') {
            Some((m, c)) => (m, Some(c)),
            None => (value, None),
        };
        let parts: Vec<&str> = members.split(':').collect();
        if parts.len() < 3 || parts.len() > 4 {
            return Err(err("expected host:quorumPort:electionPort[:role]"));
        }
        let port = |s: &str| s.trim().parse::<u16>().map_err(|_| err("bad port"));
        let role = match parts.get(3).map(|s| s.trim()) {
            None | Some("participant") => Role::Participant,
            Some("observer") => Role::Observer,
            Some(_) => return Err(err("role must be participant or observer")),
        };
        let client_addr = match client.map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(match c.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), port(p)?),
                None => ("0.0.0.0".to_string(), port(c)?),
            }),
        };
        Ok(ServerSpec {
            id,
            host: parts[0].trim().to_string(),
            quorum_port: port(parts[1])?,
            election_port: port(parts[2])?,
            role,
            client_addr,
        })
    }

    /// The line as /zookeeper/config shows it.
    pub fn to_config_line(&self) -> String {
        let role = match self.role {
            Role::Participant => "participant",
            Role::Observer => "observer",
        };
        let mut s = format!(
            "server.{}={}:{}:{}:{role}",
            self.id, self.host, self.quorum_port, self.election_port
        );
        if let Some((h, p)) = &self.client_addr {
            s.push_str(&format!(";{h}:{p}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_short_forms() {
        let s = ServerSpec::parse(2, "zk-1.zk:2888:3888:observer;0.0.0.0:2181").unwrap();
        assert_eq!(s.role, Role::Observer);
        assert_eq!(s.client_addr, Some(("0.0.0.0".into(), 2181)));
        assert_eq!(
            s.to_config_line(),
            "server.2=zk-1.zk:2888:3888:observer;0.0.0.0:2181"
        );
        let s = ServerSpec::parse(1, "127.0.0.1:2888:3888;2181").unwrap();
        assert_eq!(s.role, Role::Participant);
        assert_eq!(s.client_addr, Some(("0.0.0.0".into(), 2181)));
        assert!(ServerSpec::parse(1, "h:x:3888").is_err());
        assert!(ServerSpec::parse(1, "h:1:2:leader").is_err());
    }
}
