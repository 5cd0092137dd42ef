//! What every part of the kubelet shares.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kube::Client;

use crate::hosts::Hosts;
use crate::sandbox::Network;

/// The user the "image" runs as when the spec names none: the zk image's own non-root user
/// (Dockerfile `USER 65532:65532`).
pub const IMAGE_USER: u32 = 65532;

pub struct Ctx {
    pub client: Client,
    pub node_name: String,
    /// The node's address (the bridge): hostIP of every pod, and where pods reach the API server.
    pub host_ip: String,
    pub apiserver_port: u16,
    pub state_dir: PathBuf,
    /// A world-executable copy of the zk binary, which every container runs in place of its image.
    pub zk_bin: PathBuf,
    pub net: Network,
    pub hosts: Hosts,
    /// Mount points created on the host for volumes, for `tests/k8s/down` to remove.
    pub created: Mutex<std::fs::File>,
}

impl Ctx {
    /// Creates `path` (a directory, or an empty file when `file`) with its missing parents,
    /// recording every component it made.
    pub fn make_mountpoint(&self, path: &Path, file: bool) -> std::io::Result<()> {
        if path.exists() {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut p = path;
        while !p.exists() {
            missing.push(p.to_path_buf());
            match p.parent() {
                Some(parent) => p = parent,
                None => break,
            }
        }
        let mut log = self.created.lock().unwrap_or_else(|e| e.into_inner());
        for (i, m) in missing.iter().rev().enumerate() {
            let last = i + 1 == missing.len();
            // Another pod may be making the same mount point right now: then it is not ours.
            let made = if last && file {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(m)
                    .map(|_| ())
            } else {
                std::fs::create_dir(m)
            };
            match made {
                Ok(()) => writeln!(log, "{}", m.display())?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The directory holding the zk binary, first on every container's PATH.
    pub fn image_bin(&self) -> String {
        self.zk_bin
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// Maps a container's command to what runs here: the image's entrypoint and any `zk` on
    /// the command line are the locally built zk binary.
    pub fn resolve_argv(&self, command: &[String], args: &[String]) -> Vec<String> {
        let zk = self.zk_bin.display().to_string();
        let mut argv: Vec<String> = if command.is_empty() {
            vec![zk.clone()]
        } else {
            command.to_vec()
        };
        if argv
            .first()
            .is_some_and(|p| Path::new(p).file_name().is_some_and(|n| n == "zk"))
        {
            argv[0] = zk;
        }
        argv.extend(args.iter().cloned());
        argv
    }

    /// Resolves a bare program name against the container's PATH, as the runtime does before
    /// the container's mounts hide anything.
    pub fn lookup(program: &str, env: &[(String, String)]) -> String {
        if program.contains('/') {
            return program.to_string();
        }
        let path = env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .unwrap_or("/usr/bin:/bin");
        path.split(':')
            .map(|d| Path::new(d).join(program))
            .find(|p| {
                use std::os::unix::fs::PermissionsExt;
                p.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| program.to_string())
    }
}
