//! Multi-member harness: runs several real `zk server` processes as one ensemble, each on its own
//! loopback address (`127.0.<net>.<id>`) with its own zoo.cfg, dataDir and myid, so a test can
//! kill, stop or restart single members and talk to each through its client port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Member {
    pub id: u64,
    pub ip: String,
    pub client_port: u16,
    /// The AdminServer's port (on `ip`).
    pub admin_port: u16,
    pub dir: PathBuf,
    /// The role `wait_for_leader` expects (a reconfig may change it).
    pub observer: bool,
    /// This member's `server.N=` value, as zoo.cfg and a reconfig name it.
    pub spec: String,
    child: Option<Child>,
}

pub struct Ensemble {
    pub members: Vec<Member>,
    net: u8,
    /// Extra zoo.cfg lines every member gets.
    extra: Vec<String>,
    _dir: tempfile::TempDir,
}

/// A four-letter word sent to one member; the whole answer.
pub fn four_letter(ip: &str, port: u16, word: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect((ip, port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(word.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

impl Member {
    /// Member `id` of net `net`: its data directory with its myid under `root`, and four free
    /// ports; `spec` renders its `server.N=` value from (ip, quorum, election, client port).
    fn prepare(
        root: &std::path::Path,
        net: u8,
        id: u64,
        observer: bool,
        spec: impl FnOnce(&str, u16, u16, u16) -> String,
    ) -> Member {
        let ip = format!("127.0.{net}.{id}");
        let [q, e, client_port, admin_port] = super::free_ports_on(&ip);
        let dir = root.join(format!("m{id}"));
        std::fs::create_dir_all(dir.join("data")).expect("member dir");
        std::fs::write(dir.join("data").join("myid"), format!("{id}\n")).expect("myid");
        Member {
            id,
            spec: spec(&ip, q, e, client_port),
            ip,
            client_port,
            admin_port,
            dir,
            observer,
            child: None,
        }
    }
    /// Writes this member's zoo.cfg: the harness's settings, `extra` lines and the `server.N`
    /// `lines`. forceSync=no: a killed process keeps what it wrote in the page cache; fsync only
    /// matters for power loss, which these tests do not simulate.
    fn write_config(&self, extra: &[String], lines: &[String]) {
        let cfg = format!(
            "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
             clientPortAddress={}\n4lw.commands.whitelist=*\nadmin.enableServer=true\n\
             admin.serverAddress={}\nadmin.serverPort={}\nforceSync=no\n{}\n{}\n",
            self.dir.join("data").display(),
            self.client_port,
            self.ip,
            self.ip,
            self.admin_port,
            extra.join("\n"),
            lines.join("\n")
        );
        std::fs::write(self.dir.join("zoo.cfg"), cfg).expect("zoo.cfg");
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.client_port)
    }

    /// The `Mode:` line of `srvr`, if the member answers.
    pub fn mode(&self) -> Option<String> {
        let out = four_letter(&self.ip, self.client_port, "srvr").ok()?;
        out.lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(str::to_string)
    }

    pub fn srvr(&self) -> String {
        four_letter(&self.ip, self.client_port, "srvr").unwrap_or_default()
    }

    pub fn mntr(&self) -> String {
        four_letter(&self.ip, self.client_port, "mntr").unwrap_or_default()
    }

    /// The body of an AdminServer GET (`/commands/mntr`, `/zk/replication`, …), or "" when
    /// the member does not answer.
    pub fn admin_get(&self, path: &str) -> String {
        let ask = || -> std::io::Result<String> {
            let mut s = TcpStream::connect((self.ip.as_str(), self.admin_port))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            write!(s, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.ip)?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        };
        ask()
            .ok()
            .and_then(|r| r.split_once("\r\n\r\n").map(|(_, body)| body.to_string()))
            .unwrap_or_default()
    }

    /// Whether one of this member's client connections belongs to `session` (`cons`).
    pub fn serves_session(&self, session: i64) -> bool {
        four_letter(&self.ip, self.client_port, "cons")
            .is_ok_and(|out| out.contains(&format!("sid=0x{session:x}")))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .expect("server log");
        let child = Command::new(env!("CARGO_BIN_EXE_zk"))
            .arg("server")
            .arg("--config")
            .arg(self.dir.join("zoo.cfg"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start zk server");
        self.child = Some(child);
    }

    /// SIGKILL: no chance to flush or hand anything over.
    pub fn kill(&mut self) {
        super::kill_child(&mut self.child);
    }

    /// SIGTERM and wait for the exit; true when it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        super::terminate_child(&mut self.child)
    }

    /// Sends a signal by name (`STOP`, `CONT`, …) to the running process.
    pub fn signal(&self, name: &str) {
        if let Some(c) = &self.child {
            super::signal_pid(c.id(), name);
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// What an operator finds after a lost volume: the member's dataDir holds nothing but
    /// `myid` (snapshots, log, vote and incarnation are gone). Only for a stopped member.
    pub fn wipe_data(&self) {
        assert!(!self.is_running(), "wipe the data of a stopped member only");
        let data = self.dir.join("data");
        for entry in std::fs::read_dir(&data).expect("data dir") {
            let path = entry.expect("data dir entry").path();
            if path.file_name().is_some_and(|n| n == "myid") {
                continue;
            }
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("remove data");
            } else {
                std::fs::remove_file(&path).expect("remove data");
            }
        }
    }

    /// The zxid `srvr` reports (`Zxid: 0x…`): what this member has applied.
    pub fn zxid(&self) -> Option<i64> {
        let out = self.srvr();
        let hex = out.lines().find_map(|l| l.strip_prefix("Zxid: 0x"))?;
        i64::from_str_radix(hex.trim(), 16).ok()
    }

    /// The value of one `mntr` key, if this member reports it.
    pub fn mntr_value(&self, key: &str) -> Option<String> {
        self.mntr().lines().find_map(|l| {
            let (k, v) = l.split_once('\t')?;
            (k == key).then(|| v.to_string())
        })
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // A stopped process ignores nothing but SIGKILL; resume it so it never lingers.
        self.signal("CONT");
        self.kill();
    }
}

impl Ensemble {
    /// Starts `participants` voting members and `observers` observers on `127.0.<net>.<id>`
    /// (ids from 1) and waits until every member follows one leader. Tests running at the same
    /// time use different `net`s.
    pub fn start(net: u8, participants: u64, observers: u64) -> Ensemble {
        Ensemble::start_with(net, participants, observers, &[])
    }

    /// Like [`Ensemble::start`], with extra zoo.cfg lines for every member.
    pub fn start_with(net: u8, participants: u64, observers: u64, extra: &[&str]) -> Ensemble {
        let mut e = Ensemble::configure(net, participants, observers, extra);
        for m in &mut e.members {
            m.launch();
        }
        e.wait_for_leader(Duration::from_secs(60));
        e
    }

    /// Writes every member's zoo.cfg, dataDir and myid without starting any: a test starts
    /// them (`Member::restart`) when it wants, e.g. a member that joins only later.
    pub fn configure(net: u8, participants: u64, observers: u64, extra: &[&str]) -> Ensemble {
        let dir = tempfile::tempdir().expect("temp dir");
        let total = participants + observers;
        let mut members = Vec::new();
        let mut lines = Vec::new();
        for id in 1..=total {
            let observer = id > participants;
            let role = if observer { ":observer" } else { "" };
            let m = Member::prepare(dir.path(), net, id, observer, |ip, q, e, client| {
                format!("{ip}:{q}:{e}{role};{client}")
            });
            lines.push(format!("server.{id}={}", m.spec));
            members.push(m);
        }
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        for m in &members {
            m.write_config(&extra, &lines);
        }
        Ensemble {
            members,
            net,
            extra,
            _dir: dir,
        }
    }

    /// Starts a new member (the next id) whose zoo.cfg lists the running ensemble and itself,
    /// as ZooKeeper's docs have a server prepared before a reconfig adds it; it must wait to
    /// be added rather than form an ensemble of its own. Returns its index; the reconfig
    /// joiner is `server.<id>=<spec>` (role participant unless `observer`).
    pub fn add_member(&mut self, observer: bool) -> usize {
        let id = self.members.len() as u64 + 1;
        let role = if observer { "observer" } else { "participant" };
        let mut m = Member::prepare(
            self._dir.path(),
            self.net,
            id,
            observer,
            |ip, q, e, client| format!("{ip}:{q}:{e}:{role};{ip}:{client}"),
        );
        let lines: Vec<String> = self
            .members
            .iter()
            .chain(std::iter::once(&m))
            .map(|m| format!("server.{}={}", m.id, m.spec))
            .collect();
        m.write_config(&self.extra, &lines);
        m.launch();
        self.members.push(m);
        self.members.len() - 1
    }

    /// Every member's client address, as a connect string.
    pub fn connect_string(&self) -> String {
        let v: Vec<String> = self.members.iter().map(Member::addr).collect();
        v.join(",")
    }

    /// Waits until the running members agree there is exactly one leader and every other
    /// running member is a follower or observer; returns the leader's index.
    pub fn wait_for_leader(&self, timeout: Duration) -> usize {
        self.wait_for_leader_ignoring(&[], timeout)
    }

    /// [`Ensemble::wait_for_leader`] over the running members except those at `ignored`
    /// (indexes), e.g. one that must stay outside the ensemble.
    pub fn wait_for_leader_ignoring(&self, ignored: &[usize], timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let counted = |i: usize, m: &Member| m.is_running() && !ignored.contains(&i);
        loop {
            let modes: Vec<Option<String>> = self
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| if counted(i, m) { m.mode() } else { None })
                .collect();
            let leaders: Vec<usize> = modes
                .iter()
                .enumerate()
                .filter(|(_, m)| m.as_deref() == Some("leader"))
                .map(|(i, _)| i)
                .collect();
            let settled = self
                .members
                .iter()
                .zip(&modes)
                .enumerate()
                .all(|(i, (m, mode))| {
                    !counted(i, m)
                        || match mode.as_deref() {
                            Some("leader") => true,
                            Some("follower") => !m.observer,
                            Some("observer") => m.observer,
                            _ => false,
                        }
                });
            if leaders.len() == 1 && settled {
                return leaders[0];
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = self.members.iter().map(Member::log).collect();
                panic!("no settled leader: {modes:?}\n{}", logs.join("\n-----\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until exactly one of the members at `among` leads and the others of them follow
    /// (or observe), whatever the members outside `among` say (a partition's majority side);
    /// returns the leader's index.
    pub fn wait_for_leader_among(&self, among: &[usize], timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let modes: Vec<Option<String>> =
                among.iter().map(|i| self.members[*i].mode()).collect();
            let leaders: Vec<usize> = among
                .iter()
                .zip(&modes)
                .filter(|(_, m)| m.as_deref() == Some("leader"))
                .map(|(i, _)| *i)
                .collect();
            let settled = modes.iter().all(|m| {
                matches!(
                    m.as_deref(),
                    Some("leader") | Some("follower") | Some("observer")
                )
            });
            if leaders.len() == 1 && settled {
                return leaders[0];
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = self.members.iter().map(Member::log).collect();
                panic!(
                    "no settled leader among {among:?}: {modes:?}\n{}",
                    logs.join("\n-----\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn leader(&self) -> usize {
        self.wait_for_leader(Duration::from_secs(30))
    }
}

/// A zookeeper-client session to `addrs` (one member or a connect string).
pub async fn client(addrs: &str) -> zookeeper_client::Client {
    zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(4))
        .connect(addrs)
        .await
        .expect("connect")
}
