//! Test harness: runs the real `zk` binary as a standalone server on a free loopback port, in a
//! temporary data directory, and kills it when dropped.

#![allow(dead_code)]

pub mod ensemble;
pub mod history;
pub mod k8s;
pub mod partition;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    extra: Vec<String>,
}

pub fn free_port() -> u16 {
    let [port] = free_ports_on("127.0.0.1");
    port
}

/// `N` distinct free ports on `ip`. The listeners are held until all are chosen: the kernel
/// may hand a just-released port out again, and a member once got the same port for quorum
/// and admin and could not start.
pub fn free_ports_on<const N: usize>(ip: &str) -> [u16; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind((ip, 0)).expect("a free loopback port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("bound address").port())
}

/// Sends a four-letter word and returns the whole answer.
pub fn four_letter(port: u16, word: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(word.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts with extra zoo.cfg lines.
    pub fn start_with(extra: &[&str]) -> Server {
        let mut s = Server {
            child: None,
            dir: tempfile::tempdir().expect("temp dir"),
            port: free_port(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        s.launch();
        s
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("zoo.cfg")
    }

    fn launch(&mut self) {
        let cfg = format!(
            "tickTime=200\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n\
             4lw.commands.whitelist=*\nadmin.enableServer=false\nextendedTypesEnabled=true\n\
             DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n\
             znode.container.checkIntervalMs=100\n{}\n",
            self.dir.path().join("data").display(),
            self.port,
            self.extra.join("\n")
        );
        std::fs::write(self.config_path(), cfg).expect("write zoo.cfg");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("server log");
        let child = Command::new(env!("CARGO_BIN_EXE_zk"))
            .arg("server")
            .arg("--config")
            .arg(self.config_path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start zk server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if four_letter(self.port, "ruok").is_ok_and(|s| s == "imok") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not become ready: {}", self.log());
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        kill_child(&mut self.child);
    }

    /// SIGTERM and wait for a clean exit; returns the exit status success.
    pub fn terminate(&mut self) -> bool {
        terminate_child(&mut self.child)
    }

    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

/// Sends a signal by name (`TERM`, `STOP`, `CONT`, …) to a process.
pub fn signal_pid(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// SIGKILL a server process (if running) and reap it.
pub fn kill_child(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// SIGTERM a server process and wait; true when it exited cleanly.
pub fn terminate_child(child: &mut Option<Child>) -> bool {
    match child.take() {
        Some(mut c) => {
            signal_pid(c.id(), "TERM");
            c.wait().map(|s| s.success()).unwrap_or(false)
        }
        None => false,
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A connected zookeeper-client session (an independent client implementation).
pub async fn client(s: &Server) -> zookeeper_client::Client {
    zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&s.addr())
        .await
        .expect("connect")
}
