//! Recorded histories of versioned znode operations for the linearizability tests: clients
//! racing create/get/set/delete with expected versions on a few znodes, every call recorded with
//! its real-time window and answer (or as unknown when its connection was lost).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use zk_linearizability::znode::{Input, Output, Znode};
use zk_linearizability::{Op, check_partitioned};
use zookeeper_client::{Acls, Client, CreateMode, Error};

const KEYS: usize = 3;

pub type History = Arc<Mutex<Vec<(usize, Op<Input, Output>)>>>;

/// A session at `addr`, retried until a member accepts it.
pub async fn connect(addr: &str) -> Client {
    loop {
        match Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(addr)
            .await
        {
            Ok(c) => return c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Runs one call; `None` when its outcome is unknown. With `sync_reads` a read is `sync` then
/// get: a member's local read may be stale, and applications that need a linearizable read
/// do this.
async fn run(c: &Client, path: &str, input: &Input, sync_reads: bool) -> Option<Output> {
    let opts = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let known = |e: Error| match e {
        Error::NoNode => Some(Output::NoNode),
        Error::NodeExists => Some(Output::NodeExists),
        Error::BadVersion => Some(Output::BadVersion),
        _ => None,
    };
    match input {
        Input::Create(d) => match c.create(path, d, &opts).await {
            Ok(_) => Some(Output::Ok),
            Err(e) => known(e),
        },
        Input::Get if sync_reads => match c.sync(path).await.and(c.get_data(path).await) {
            Ok((d, stat)) => Some(Output::Data(d, stat.version)),
            Err(e) => known(e),
        },
        Input::Get => match c.get_data(path).await {
            Ok((d, stat)) => Some(Output::Data(d, stat.version)),
            Err(e) => known(e),
        },
        Input::Set { data, version } => match c.set_data(path, data, Some(*version)).await {
            Ok(stat) => Some(Output::Version(stat.version)),
            Err(e) => known(e),
        },
        Input::Delete { version } => match c.delete(path, Some(*version)).await {
            Ok(()) => Some(Output::Ok),
            Err(e) => known(e),
        },
    }
}

/// One client: random versioned operations on the keys until `until`, each recorded with its
/// call and return times; a lost connection makes the call unknown and opens a new session.
pub async fn client_loop(
    id: usize,
    addr: String,
    origin: Instant,
    until: Instant,
    history: History,
    sync_reads: bool,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(id as u64);
    let mut c = connect(&addr).await;
    let mut seen = [0i32; KEYS];
    let mut n = 0u32;
    while Instant::now() < until {
        let k = rng.random_range(0..KEYS);
        let version = match rng.random_range(0..4) {
            0 => -1,
            1 => rng.random_range(0..3),
            _ => seen[k],
        };
        n += 1;
        let data = format!("c{id}-{n}").into_bytes();
        let input = match rng.random_range(0..10) {
            0..=1 => Input::Create(data),
            2..=4 => Input::Get,
            5..=8 => Input::Set { data, version },
            _ => Input::Delete { version },
        };
        let call = origin.elapsed().as_nanos() as u64;
        let output = tokio::time::timeout(
            Duration::from_secs(5),
            run(&c, &format!("/lin/k{k}"), &input, sync_reads),
        )
        .await
        .ok()
        .flatten();
        let ret = output.as_ref().map(|_| origin.elapsed().as_nanos() as u64);
        match &output {
            Some(Output::Data(_, v)) | Some(Output::Version(v)) => seen[k] = *v,
            Some(_) => {}
            None => {
                // The connection is gone (its server was killed or lost the leader): a
                // new session, as an application would.
                drop(c);
                c = connect(&addr).await;
            }
        }
        history.lock().expect("history").push((
            k,
            Op {
                client: id,
                call,
                ret,
                input,
                output,
            },
        ));
    }
}

/// The recorded history, checked for linearizability per znode; panics with `logs` on a
/// violation or when too little happened for the check to mean anything. Returns the number of
/// calls whose outcome is unknown.
pub fn check(history: &History, logs: impl FnOnce() -> String) -> usize {
    let history = history.lock().expect("history").clone();
    let answered = history.iter().filter(|(_, op)| op.output.is_some()).count();
    let unknown = history.len() - answered;
    let wins = history
        .iter()
        .filter(|(_, op)| matches!(op.output, Some(Output::Version(_)) | Some(Output::Ok)))
        .count();
    eprintln!(
        "history: {} calls, {answered} answered, {unknown} unknown, {wins} writes won",
        history.len()
    );
    assert!(
        answered > 200 && wins > 50,
        "too little happened: {answered} answered, {wins} writes won"
    );
    if let Err((key, v)) = check_partitioned(&Znode, &history) {
        panic!("/lin/k{key}: {v}\n{}", logs());
    }
    unknown
}
