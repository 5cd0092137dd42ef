//! The benchmark's own znodes: a base node with K keys, created before and deleted after.

use bytes::Bytes;
use tokio::task::JoinSet;
use zookeeper_client::{Acls, Client, CreateMode, Error as ZkError};

use super::error::BenchError;
use super::workload::key_path;

/// Requests kept in flight while creating or deleting many nodes.
const WINDOW: usize = 256;

fn tree_error(action: &'static str, path: &str, source: ZkError) -> BenchError {
    BenchError::Tree {
        action,
        path: path.to_string(),
        source,
    }
}

/// Runs `op` for every path with at most [`WINDOW`] requests in flight.
async fn for_each_path<F, Fut>(client: &Client, paths: Vec<String>, op: F) -> Result<(), BenchError>
where
    F: Fn(Client, String) -> Fut,
    Fut: std::future::Future<Output = Result<(), BenchError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for path in paths {
        if tasks.len() >= WINDOW
            && let Some(done) = tasks.join_next().await
        {
            done??;
        }
        tasks.spawn(op(client.clone(), path));
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// Creates the base node and `keys` keys holding `value`.
pub async fn create(
    client: &Client,
    base: &str,
    keys: usize,
    value: Bytes,
) -> Result<(), BenchError> {
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    client
        .create(base, &[], &options)
        .await
        .map_err(|e| tree_error("create", base, e))?;
    let paths = (0..keys).map(|i| key_path(base, i)).collect();
    for_each_path(client, paths, move |client, path| {
        let value = value.clone();
        async move {
            let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
            client
                .create(&path, &value, &options)
                .await
                .map(|_| ())
                .map_err(|e| tree_error("create", &path, e))
        }
    })
    .await
}

/// Deletes everything under `base` (one level, which is all a run creates) and `base` itself.
pub async fn delete(client: &Client, base: &str) -> Result<(), BenchError> {
    let children = match client.list_children(base).await {
        Ok(children) => children,
        Err(ZkError::NoNode) => return Ok(()),
        Err(e) => return Err(tree_error("list", base, e)),
    };
    let paths = children.iter().map(|c| format!("{base}/{c}")).collect();
    for_each_path(client, paths, |client, path| async move {
        match client.delete(&path, None).await {
            Ok(()) | Err(ZkError::NoNode) => Ok(()),
            Err(e) => Err(tree_error("delete", &path, e)),
        }
    })
    .await?;
    match client.delete(base, None).await {
        Ok(()) | Err(ZkError::NoNode) => Ok(()),
        Err(e) => Err(tree_error("delete", base, e)),
    }
}
