//! Opening and closing the ZooKeeper session the shell works in.

use std::time::Duration;

use zookeeper_client::{Client, Error as ZkError};

/// How to connect, from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Connect string of the first connection.
    pub server: String,
    /// Session timeout, also the limit for establishing the session.
    pub timeout: Duration,
    /// Whether a read-only session is acceptable.
    pub readonly: bool,
}

/// How long `close` waits for the server to confirm the end of the session.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// Establishes a session with `server`, giving up after the session timeout.
pub async fn connect(settings: &Settings, server: &str) -> Result<Client, ZkError> {
    let connector = Client::connector()
        .with_session_timeout(settings.timeout)
        .with_readonly(settings.readonly);
    tokio::time::timeout(settings.timeout, connector.connect(server))
        .await
        .unwrap_or(Err(ZkError::Timeout))
}

/// Closes the session and waits (bounded) until the server has ended it, so that ephemeral
/// nodes disappear when the shell exits rather than a session timeout later.
pub async fn close(client: Client) {
    if client.state().is_terminated() {
        return;
    }
    let mut states = client.state_watcher();
    drop(client);
    let wait_closed = async { while !states.changed().await.is_terminated() {} };
    if tokio::time::timeout(CLOSE_WAIT, wait_closed).await.is_err() {
        tracing::debug!("session close not confirmed within {CLOSE_WAIT:?}");
    }
}
