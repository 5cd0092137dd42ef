//! Facts about this process and host for the admin surfaces (`envi`, `mntr`, `dirs`, `conf`,
//! `/metrics`): read from /proc, getrlimit, uname and the data directories when asked.
//!
//! None of this is server state, and some of it is file-system I/O, so it is gathered outside
//! the core task. Every value is optional: what cannot be read is reported as unknown (the
//! renderers print ZooKeeper's own markers for that) instead of as a made-up number.

use std::ffi::CStr;
use std::path::Path;

use super::fourlw::{self, AdminSnapshot, Environment, ProcessStats, SnapshotInfo};
use crate::consensus::snapfile;
use crate::consensus::storage::Layout;

/// Adds process, host and directory facts to a snapshot the core captured.
pub fn fill(snap: &mut AdminSnapshot, layout: &Layout) {
    snap.data.data_dir_size = dir_size(&layout.snap_dir);
    snap.data.log_dir_size = dir_size(&layout.log_dir);
    snap.last_snapshot = last_snapshot(&layout.snap_dir);
    snap.process = process_stats();
    snap.environment = environment(snap.process.resident_memory_bytes);
}

/// Bytes in the regular files directly inside `dir` (ZooKeeper's `getDataDirSize`).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn last_snapshot(dir: &Path) -> Option<SnapshotInfo> {
    let (zxid, path) = snapfile::list(dir).ok()?.pop()?;
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(SnapshotInfo {
        zxid,
        timestamp_secs: i64::try_from(secs).ok()?,
    })
}

fn process_stats() -> ProcessStats {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    ProcessStats {
        open_fds: open_fds(),
        max_fds: max_fds(),
        cpu_seconds: cpu_seconds(),
        start_time_ms: start_time_ms(),
        resident_memory_bytes: status_kib(&status, "VmRSS:").map(|k| k * 1024),
        virtual_memory_bytes: status_kib(&status, "VmSize:").map(|k| k * 1024),
    }
}

/// Entries of /proc/self/fd, minus the descriptor the listing itself holds (as the JVM's
/// `getOpenFileDescriptorCount` does).
fn open_fds() -> Option<u64> {
    let n = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some(n.saturating_sub(1))
}

/// The soft `RLIMIT_NOFILE`.
fn max_fds() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0).then_some(lim.rlim_cur)
}

/// User plus system CPU seconds this process has used so far.
pub fn cpu_seconds() -> Option<f64> {
    // SAFETY: an all-zero rusage is a valid value; getrusage overwrites it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage into the struct we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

/// Process start: boot time (/proc/stat `btime`) plus the start tick in /proc/self/stat.
fn start_time_ms() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces;
    // `starttime` is field 22 overall, the 20th after the name.
    let after_name = stat.rsplit_once(')')?.1;
    let ticks: f64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: f64 = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    Some(((btime + ticks / hz as f64) * 1000.0) as i64)
}

/// A `Key:   123 kB` line of /proc/self/status, in KiB.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let rest = status.lines().find_map(|l| l.strip_prefix(key))?;
    rest.split_whitespace().next()?.parse().ok()
}

fn environment(resident: Option<u64>) -> Environment {
    let (user_name, user_home) = user();
    let memory_max = memory_limit();
    Environment {
        host_name: host_name().unwrap_or_default(),
        os_name: fourlw::java_os_name(std::env::consts::OS),
        os_arch: fourlw::java_os_arch(std::env::consts::ARCH),
        os_version: kernel_release().unwrap_or_default(),
        user_name,
        user_home,
        user_dir: std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        tmp_dir: std::env::temp_dir().display().to_string(),
        memory_free_bytes: memory_max.zip(resident).map(|(m, r)| m.saturating_sub(r)),
        memory_max_bytes: memory_max,
        memory_total_bytes: resident,
    }
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

fn kernel_release() -> Option<String> {
    // SAFETY: an all-zero utsname is a valid value; uname overwrites it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes one utsname into the struct we own.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    // SAFETY: uname NUL-terminates every field.
    let release = unsafe { CStr::from_ptr(u.release.as_ptr()) };
    Some(release.to_string_lossy().into_owned())
}

/// The effective user's name and home directory (Java's `user.name`, `user.home`), from the
/// password database, falling back to $USER/$HOME.
fn user() -> (String, String) {
    let env = |k| std::env::var(k).unwrap_or_default();
    // SAFETY: an all-zero passwd is a valid value; getpwuid_r overwrites it.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: getpwuid_r fills `pw` with pointers into `buf`, both of which outlive their use
    // below, and sets `found` to `&mut pw` or null.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || pw.pw_name.is_null() || pw.pw_dir.is_null() {
        return (env("USER"), env("HOME"));
    }
    // SAFETY: non-null fields point to NUL-terminated strings inside `buf`.
    let (name, dir) = unsafe { (CStr::from_ptr(pw.pw_name), CStr::from_ptr(pw.pw_dir)) };
    (
        name.to_string_lossy().into_owned(),
        dir.to_string_lossy().into_owned(),
    )
}

/// The memory this process may use: its cgroup's limit when it has one, else physical RAM.
fn memory_limit() -> Option<u64> {
    // SAFETY: sysconf has no memory effects.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let physical = (pages > 0 && page > 0).then(|| pages as u64 * page as u64);
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok());
    match (cgroup, physical) {
        (Some(c), Some(p)) => Some(c.min(p)),
        (c, p) => c.or(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let p = process_stats();
        assert!(p.open_fds.is_some_and(|n| n >= 3), "{p:?}");
        assert!(p.max_fds.is_some_and(|n| n > 0));
        assert!(p.resident_memory_bytes.is_some_and(|n| n > 0));
        assert!(p.virtual_memory_bytes >= p.resident_memory_bytes);
        let start = p.start_time_ms.unwrap_or_default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        assert!(start > 0 && start <= now + 1000, "{start} vs {now}");
        let e = environment(p.resident_memory_bytes);
        assert_eq!(e.os_name, "Linux");
        assert!(!e.os_version.is_empty());
        assert!(!e.user_name.is_empty());
    }

    #[test]
    fn status_lines_parse_in_kib() {
        let s = "Name:\tzk\nVmSize:\t  123456 kB\nVmRSS:\t 2048 kB\n";
        assert_eq!(status_kib(s, "VmRSS:"), Some(2048));
        assert_eq!(status_kib(s, "VmSize:"), Some(123_456));
        assert_eq!(status_kib(s, "VmSwap:"), None);
    }
}
