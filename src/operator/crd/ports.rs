//! The five ports of a member. They are configurable because some clusters reserve ports,
//! but they must be distinct: two listeners on one port make the member fail at startup.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Container ports of each member.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new(
    "[self.client, self.quorum, self.election, self.admin, self.metrics].all(p, \
     [self.client, self.quorum, self.election, self.admin, self.metrics].filter(q, q == p).size() == 1)"
).message("client, quorum, election, admin and metrics ports must all be different"))]
pub struct Ports {
    /// Port ZooKeeper clients connect to.
    #[serde(default = "client")]
    #[schemars(range(min = 1, max = 65535))]
    pub client: i32,
    /// Port followers use to talk to the leader.
    #[serde(default = "quorum")]
    #[schemars(range(min = 1, max = 65535))]
    pub quorum: i32,
    /// Port of leader election.
    #[serde(default = "election")]
    #[schemars(range(min = 1, max = 65535))]
    pub election: i32,
    /// Port of the AdminServer (HTTP, `/commands`); the probes and the operator use it.
    #[serde(default = "admin")]
    #[schemars(range(min = 1, max = 65535))]
    pub admin: i32,
    /// Port of the Prometheus endpoint.
    #[serde(default = "metrics")]
    #[schemars(range(min = 1, max = 65535))]
    pub metrics: i32,
}

fn client() -> i32 {
    2181
}
fn quorum() -> i32 {
    2888
}
fn election() -> i32 {
    3888
}
fn admin() -> i32 {
    8080
}
fn metrics() -> i32 {
    7000
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            client: client(),
            quorum: quorum(),
            election: election(),
            admin: admin(),
            metrics: metrics(),
        }
    }
}
