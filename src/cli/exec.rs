//! Runs a parsed command against the server and renders what zkCli would print.
//!
//! Only commands that talk to the server live here; the shell handles its own (`quit`,
//! `history`, `connect`, ...). Every server error becomes a [`CliError`] carrying the path so
//! the message matches zkCli's.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zookeeper_client::{Acl, Acls, AddWatchMode, Client, CreateMode, Error as ZkError};

use super::acl::{format_acl_entry, from_permission, parse_acl, to_client_acls};
use super::client_config::client_config_string;
use super::command::{Command, DataFormat, NodeKind, WatchMode};
use super::error::{CliError, error_code, generic_keeper_message};
use super::format::{format_children, format_stat, java_list};
use super::hexdump::pretty_hex_dump;
use super::output::{Output, Watch};
use super::path::validate_path;

type Result<T> = std::result::Result<T, CliError>;

fn check_path(path: &str) -> Result<()> {
    validate_path(path, false).map_err(CliError::MalformedPath)
}

/// `Collections.sort` order (UTF-16 code units).
fn sort_java(names: &mut [String]) {
    names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
}

fn child_path(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// Parses an ACL argument, printing zkCli's warnings for the parts it skips.
fn acl_argument(text: &str, out: &mut Output) -> Vec<Acl> {
    let parsed = parse_acl(text);
    for warning in &parsed.warnings {
        out.err_line(warning.clone());
    }
    to_client_acls(&parsed.entries)
}

/// Runs `command` on `client`, appending zkCli's output to `out`.
pub async fn run(client: &Client, command: &Command, out: &mut Output) -> Result<()> {
    match command {
        Command::Ls {
            path,
            stat,
            watch,
            recursive,
        } => {
            check_path(path)?;
            if *recursive {
                ls_recursive(client, path, *watch, out).await
            } else {
                ls(client, path, *stat, *watch, out).await
            }
        }
        Command::Create {
            path,
            data,
            acl,
            kind,
            ttl,
        } => create(client, path, data, acl, *kind, *ttl, out).await,
        Command::Get {
            path,
            stat,
            watch,
            format,
        } => get(client, path, *stat, *watch, *format, out).await,
        Command::Set {
            path,
            data,
            stat,
            version,
            base64,
        } => {
            let bytes = if *base64 {
                BASE64
                    .decode(data)
                    .map_err(|e| CliError::Malformed(format!("Invalid base64 data: {e}")))?
            } else {
                data.as_bytes().to_vec()
            };
            check_path(path)?;
            let new_stat = client
                .set_data(path, &bytes, *version)
                .await
                .map_err(|e| CliError::keeper(e, path))?;
            if *stat {
                out.out(format_stat(&new_stat));
            }
            Ok(())
        }
        Command::Stat { path, watch } => {
            check_path(path)?;
            let stat = if *watch {
                let (stat, watcher) = client
                    .check_and_watch_stat(path)
                    .await
                    .map_err(|e| CliError::keeper(e, path))?;
                out.watches.push(Watch::Oneshot(watcher));
                stat
            } else {
                client
                    .check_stat(path)
                    .await
                    .map_err(|e| CliError::keeper(e, path))?
            };
            let stat = stat.ok_or_else(|| CliError::keeper(ZkError::NoNode, path))?;
            out.out(format_stat(&stat));
            Ok(())
        }
        Command::Delete { path, version } => {
            check_path(path)?;
            client
                .delete(path, *version)
                .await
                .map_err(|e| CliError::keeper(e, path))
        }
        Command::DeleteAll { path, batch } => delete_all(client, path, *batch, out).await,
        Command::GetAcl { path, stat } => {
            check_path(path)?;
            let (acls, node_stat) = client
                .get_acl(path)
                .await
                .map_err(|e| CliError::keeper(e, path))?;
            for acl in &acls {
                out.out_line(format_acl_entry(
                    acl.scheme(),
                    acl.id(),
                    from_permission(acl.permission()),
                ));
            }
            if *stat {
                out.out(format_stat(&node_stat));
            }
            Ok(())
        }
        Command::SetAcl {
            path,
            acl,
            stat,
            version,
            recursive,
        } => {
            let acls = acl_argument(acl, out);
            check_path(path)?;
            if *recursive {
                set_acl_recursive(client, path, &acls, *version, out).await
            } else {
                let new_stat = client
                    .set_acl(path, &acls, *version)
                    .await
                    .map_err(|e| CliError::keeper(e, path))?;
                if *stat {
                    out.out(format_stat(&new_stat));
                }
                Ok(())
            }
        }
        Command::AddAuth { scheme, auth } => {
            let auth = auth.as_deref().unwrap_or_default();
            client
                .auth(scheme, auth.as_bytes())
                .await
                .map_err(CliError::keeper_no_path)
        }
        Command::AddWatch { path, mode } => {
            check_path(path)?;
            let mode = match mode {
                WatchMode::Persistent => AddWatchMode::Persistent,
                WatchMode::PersistentRecursive => AddWatchMode::PersistentRecursive,
            };
            let watcher = client
                .watch(path, mode)
                .await
                .map_err(|e| CliError::keeper(e, path))?;
            out.watches.push(Watch::Persistent(watcher));
            Ok(())
        }
        Command::Sync { path } => {
            check_path(path)?;
            match client.sync(path).await {
                Ok(()) => out.out_line("Sync is OK"),
                Err(e) => match error_code(&e) {
                    Some(code) => out.out_line(format!("Sync has failed. rc={code}")),
                    None => return Err(CliError::keeper(e, path)),
                },
            }
            Ok(())
        }
        Command::GetEphemerals { path } => {
            let path = path.as_deref().unwrap_or("/");
            check_path(path)?;
            let ephemerals = client
                .list_ephemerals(path)
                .await
                .map_err(|e| CliError::keeper(e, path))?;
            out.out_line(java_list(&ephemerals));
            Ok(())
        }
        Command::GetAllChildrenNumber { path } => {
            check_path(path)?;
            let n = client
                .count_descendants_number(path)
                .await
                .map_err(|e| CliError::keeper(e, path))?;
            out.out_line(n.to_string());
            Ok(())
        }
        Command::WhoAmI => {
            let users = client
                .list_auth_users()
                .await
                .map_err(CliError::keeper_no_path)?;
            out.out_line("Auth scheme: User");
            for user in users {
                out.out_line(format!("{}: {}", user.scheme(), user.user()));
            }
            Ok(())
        }
        Command::Config {
            stat,
            watch,
            client: connect_string,
        } => {
            let config_path = "/zookeeper/config";
            let (data, node_stat) = if *watch {
                let (data, node_stat, watcher) = client
                    .get_and_watch_config()
                    .await
                    .map_err(|e| CliError::keeper(e, config_path))?;
                out.watches.push(Watch::Oneshot(watcher));
                (data, node_stat)
            } else {
                client
                    .get_config()
                    .await
                    .map_err(|e| CliError::keeper(e, config_path))?
            };
            let text = String::from_utf8_lossy(&data);
            if *connect_string {
                out.out_line(client_config_string(&text));
            } else {
                out.out_line(text);
            }
            if *stat {
                out.out(format_stat(&node_stat));
            }
            Ok(())
        }
        // Handled by the shell, which owns the session and the history.
        Command::Version
        | Command::Help
        | Command::Quit
        | Command::Close
        | Command::Connect { .. }
        | Command::History
        | Command::Redo { .. }
        | Command::PrintWatches { .. } => Ok(()),
    }
}

async fn ls(
    client: &Client,
    path: &str,
    with_stat: bool,
    watch: bool,
    out: &mut Output,
) -> Result<()> {
    let keeper = |e| CliError::keeper(e, path);
    let (children, stat) = match (with_stat, watch) {
        (true, true) => {
            let (children, stat, watcher) =
                client.get_and_watch_children(path).await.map_err(keeper)?;
            out.watches.push(Watch::Oneshot(watcher));
            (children, Some(stat))
        }
        (true, false) => {
            let (children, stat) = client.get_children(path).await.map_err(keeper)?;
            (children, Some(stat))
        }
        (false, true) => {
            let (children, watcher) = client.list_and_watch_children(path).await.map_err(keeper)?;
            out.watches.push(Watch::Oneshot(watcher));
            (children, None)
        }
        (false, false) => (client.list_children(path).await.map_err(keeper)?, None),
    };
    out.out_line(format_children(&children));
    if let Some(stat) = stat {
        out.out(format_stat(&stat));
    }
    Ok(())
}

/// Lists children, with an optional child watch; a node gone meanwhile has no children.
async fn children_of(
    client: &Client,
    path: &str,
    watch: bool,
    out: &mut Output,
) -> Result<Option<Vec<String>>> {
    let result = if watch {
        client
            .list_and_watch_children(path)
            .await
            .map(|(children, watcher)| {
                out.watches.push(Watch::Oneshot(watcher));
                children
            })
    } else {
        client.list_children(path).await
    };
    match result {
        Ok(mut children) => {
            sort_java(&mut children);
            Ok(Some(children))
        }
        Err(ZkError::NoNode) => Ok(None),
        Err(e) => Err(CliError::keeper(e, path)),
    }
}

/// zkCli's `ZKUtil.visitSubTreeDFS`: the root, then each node's children before descending.
async fn visit_subtree(
    client: &Client,
    root: &str,
    watch: bool,
    out: &mut Output,
) -> Result<Vec<String>> {
    if watch {
        let (_, _, watcher) = client
            .get_and_watch_data(root)
            .await
            .map_err(|e| CliError::keeper(e, root))?;
        out.watches.push(Watch::Oneshot(watcher));
    } else {
        client
            .get_data(root)
            .await
            .map_err(|e| CliError::keeper(e, root))?;
    }
    let mut visited = vec![root.to_string()];
    let mut stack = vec![root.to_string()];
    while let Some(node) = stack.pop() {
        let Some(children) = children_of(client, &node, watch, out).await? else {
            continue;
        };
        let paths: Vec<String> = children.iter().map(|c| child_path(&node, c)).collect();
        visited.extend(paths.iter().cloned());
        stack.extend(paths.into_iter().rev());
    }
    Ok(visited)
}

async fn ls_recursive(client: &Client, path: &str, watch: bool, out: &mut Output) -> Result<()> {
    for node in visit_subtree(client, path, watch, out).await? {
        out.out_line(node);
    }
    Ok(())
}

async fn set_acl_recursive(
    client: &Client,
    path: &str,
    acls: &[Acl],
    version: Option<i32>,
    out: &mut Output,
) -> Result<()> {
    for node in visit_subtree(client, path, false, out).await? {
        if let Err(e) = client.set_acl(&node, acls, version).await {
            out.out_line(generic_keeper_message(&e, Some(&node)));
        }
    }
    Ok(())
}

async fn create(
    client: &Client,
    path: &str,
    data: &Option<String>,
    acl: &Option<String>,
    kind: NodeKind,
    ttl: Option<i64>,
    out: &mut Output,
) -> Result<()> {
    let acls = match acl {
        Some(text) => acl_argument(text, out),
        None => Acls::anyone_all().to_vec(),
    };
    validate_path(path, kind.is_sequential()).map_err(CliError::MalformedPath)?;
    let mode = match kind {
        NodeKind::Persistent => CreateMode::Persistent,
        NodeKind::PersistentSequential => CreateMode::PersistentSequential,
        NodeKind::Ephemeral => CreateMode::Ephemeral,
        NodeKind::EphemeralSequential => CreateMode::EphemeralSequential,
        NodeKind::Container => CreateMode::Container,
    };
    let mut options = mode.with_acls(Acls::new(&acls));
    if let Some(ttl) = ttl {
        options = options.with_ttl(Duration::from_millis(ttl.unsigned_abs()));
    }
    let bytes = data.as_deref().unwrap_or_default().as_bytes();
    match client.create(path, bytes, &options).await {
        Ok((_, sequence)) => {
            let created = if kind.is_sequential() {
                format!("{path}{sequence}")
            } else {
                path.to_string()
            };
            out.err_line(format!("Created {created}"));
            Ok(())
        }
        Err(ZkError::InvalidAcl) => {
            out.err_line(generic_keeper_message(&ZkError::InvalidAcl, Some(path)));
            Err(CliError::keeper(ZkError::InvalidAcl, path))
        }
        Err(e) => Err(CliError::keeper(e, path)),
    }
}

async fn get(
    client: &Client,
    path: &str,
    stat: bool,
    watch: bool,
    format: DataFormat,
    out: &mut Output,
) -> Result<()> {
    check_path(path)?;
    let (data, node_stat) = if watch {
        let (data, node_stat, watcher) = client
            .get_and_watch_data(path)
            .await
            .map_err(|e| CliError::keeper(e, path))?;
        out.watches.push(Watch::Oneshot(watcher));
        (data, node_stat)
    } else {
        client
            .get_data(path)
            .await
            .map_err(|e| CliError::keeper(e, path))?
    };
    let text = match format {
        DataFormat::Plain => String::from_utf8_lossy(&data).into_owned(),
        DataFormat::Base64 => BASE64.encode(&data),
        DataFormat::HexDump => pretty_hex_dump(&data),
    };
    out.out_line(text);
    if stat {
        out.out(format_stat(&node_stat));
    }
    Ok(())
}

/// zkCli's `ZKUtil.listSubTreeBFS`.
async fn list_subtree_bfs(client: &Client, root: &str) -> Result<Vec<String>> {
    let mut tree = vec![root.to_string()];
    let mut next = 0;
    while next < tree.len() {
        let node = tree[next].clone();
        next += 1;
        let children = client
            .list_children(&node)
            .await
            .map_err(|e| CliError::keeper(e, &node))?;
        tree.extend(children.iter().map(|c| child_path(&node, c)));
    }
    Ok(tree)
}

/// Deletes leaves first, `batch` deletes per multi request (one delete each when 0).
async fn delete_all(client: &Client, path: &str, batch: usize, out: &mut Output) -> Result<()> {
    check_path(path)?;
    let tree = list_subtree_bfs(client, path).await?;
    if batch == 0 {
        for node in tree.iter().rev() {
            client
                .delete(node, None)
                .await
                .map_err(|e| CliError::keeper(e, node))?;
        }
        return Ok(());
    }
    let leaves_first: Vec<&String> = tree.iter().rev().collect();
    for chunk in leaves_first.chunks(batch) {
        let mut writer = client.new_multi_writer();
        for node in chunk {
            writer
                .add_delete(node, None)
                .map_err(|e| CliError::keeper(e, node))?;
        }
        if writer.commit().await.is_err() {
            out.err_line("Failed to delete some node(s) in the subtree!");
            break;
        }
    }
    Ok(())
}
