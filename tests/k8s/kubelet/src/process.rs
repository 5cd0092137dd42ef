//! Starting a container's process the way a runtime would, without images: in the pod's network
//! namespace, in mount and UTS namespaces of its own (so its volumes appear at the paths the
//! spec names and its hostname is the pod's), as the user the security context asks for.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result};
use tokio::process::{Child, Command};

use crate::volumes::Mount;

/// Who the process runs as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// Everything needed to start one container process.
pub struct Launch {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    pub hostname: String,
    /// The pod's network namespace; `None` for hostNetwork pods (they share the kubelet's).
    pub netns: Option<PathBuf>,
    pub mounts: Vec<Mount>,
    pub user: Option<User>,
    pub log: PathBuf,
}

fn cstr(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).context("path contains a NUL byte")
}

fn check(rc: libc::c_int) -> std::io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Switches to the given user; runs in the forked child.
fn become_user(user: &Option<User>) -> std::io::Result<()> {
    if let Some(u) = user {
        let groups: Vec<libc::gid_t> = u.groups.clone();
        // SAFETY: plain syscalls on values owned by this (single-threaded, forked) process.
        unsafe {
            check(libc::setgroups(groups.len(), groups.as_ptr()))?;
            check(libc::setgid(u.gid))?;
            check(libc::setuid(u.uid))?;
        }
    }
    Ok(())
}

fn log_file(path: &Path) -> Result<(Stdio, Stdio)> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening log {}", path.display()))?;
    let f2 = f.try_clone()?;
    Ok((Stdio::from(f), Stdio::from(f2)))
}

/// Starts a container. The process leads its own process group, so signals reach everything
/// it starts.
pub fn spawn(l: &Launch) -> Result<Child> {
    let program = l.argv.first().context("empty command")?;
    let netns = match &l.netns {
        Some(p) => Some(File::open(p).with_context(|| format!("opening {}", p.display()))?),
        None => None,
    };
    let netns_fd = netns.as_ref().map(|f| f.as_raw_fd());
    let hostname = l.hostname.clone().into_bytes();
    let mounts: Vec<(CString, CString, bool)> = l
        .mounts
        .iter()
        .map(|m| Ok((cstr(&m.src)?, cstr(&m.dst)?, m.readonly)))
        .collect::<Result<_>>()?;
    let root = CString::new("/").context("cstr")?;
    let cwd = l.cwd.clone().map(CString::new).transpose()?;
    let user = l.user.clone();
    let (out, err) = log_file(&l.log)?;
    let mut cmd = Command::new(program);
    cmd.args(&l.argv[1..])
        .env_clear()
        .envs(l.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .current_dir("/");
    // SAFETY: the closure only makes raw syscalls on data captured by value, which is what a
    // forked child may do before exec.
    unsafe {
        cmd.pre_exec(move || {
            check(if libc::setsid() < 0 { -1 } else { 0 })?;
            if let Some(fd) = netns_fd {
                check(libc::setns(fd, libc::CLONE_NEWNET))?;
            }
            check(libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS))?;
            // Nothing mounted here may leak back to the host.
            check(libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::sethostname(hostname.as_ptr().cast(), hostname.len()))?;
            for (src, dst, ro) in &mounts {
                check(libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ))?;
                if *ro {
                    check(libc::mount(
                        std::ptr::null(),
                        dst.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
                        std::ptr::null(),
                    ))?;
                }
            }
            if let Some(dir) = &cwd {
                check(libc::chdir(dir.as_ptr()))?;
            }
            become_user(&user)
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {program:?}"))?;
    drop(netns);
    Ok(child)
}

/// Runs a command inside a running container (exec probes and hooks): its network, UTS and
/// mount namespaces, its user.
pub fn spawn_in(
    pid: u32,
    argv: &[String],
    env: &[(String, String)],
    user: &Option<User>,
) -> Result<Child> {
    let program = argv.first().context("empty command")?;
    let open = |kind: &str| {
        File::open(format!("/proc/{pid}/ns/{kind}"))
            .with_context(|| format!("container {kind} namespace"))
    };
    let (net, uts, mnt) = (open("net")?, open("uts")?, open("mnt")?);
    let fds = [
        (net.as_raw_fd(), libc::CLONE_NEWNET),
        (uts.as_raw_fd(), libc::CLONE_NEWUTS),
        (mnt.as_raw_fd(), libc::CLONE_NEWNS),
    ];
    let root = CString::new("/").context("cstr")?;
    let user = user.clone();
    let mut cmd = Command::new(program);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: as in `spawn`: raw syscalls on captured values in the forked child.
    unsafe {
        cmd.pre_exec(move || {
            check(if libc::setsid() < 0 { -1 } else { 0 })?;
            for (fd, kind) in fds {
                check(libc::setns(fd, kind))?;
            }
            check(libc::chdir(root.as_ptr()))?;
            become_user(&user)
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {program:?}"))?;
    drop((net, uts, mnt));
    Ok(child)
}

/// Signals a container's whole process group.
pub fn signal_group(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe {
        libc::kill(-(pid as libc::pid_t), sig);
    }
}
