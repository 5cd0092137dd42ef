//! Linearizability of versioned operations on a few znodes in a 3-member ensemble, checked on a
//! recorded history: six clients spread over the members race create/get/set/delete with
//! expected versions while the leader is SIGKILLed (twice: the first leader, then its
//! successor, each restarted afterwards). Calls cut off by a crash or a lost leader are recorded
//! as unknown; every answered call must fit one sequential order that respects real time. A
//! member's local read may be stale, so a read is `sync` followed by get, as ZooKeeper
//! applications do when they need a linearizable read.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use rand::{Rng, SeedableRng};
use zk_linearizability::znode::{Input, Output, Znode};
use zk_linearizability::{Op, check_partitioned};
use zookeeper_client::{Acls, Client, CreateMode, Error};

const KEYS: usize = 3;

type History = Arc<Mutex<Vec<(usize, Op<Input, Output>)>>>;

async fn connect(addr: &str) -> Client {
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

/// Runs one call; `None` when its outcome is unknown.
async fn run(c: &Client, path: &str, input: &Input) -> Option<Output> {
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
        Input::Get => match c.sync(path).await.and(c.get_data(path).await) {
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

async fn client_loop(id: usize, addr: String, origin: Instant, until: Instant, history: History) {
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
            run(&c, &format!("/lin/k{k}"), &input),
        )
        .await
        .ok()
        .flatten();
        let ret = output.as_ref().map(|_| origin.elapsed().as_nanos() as u64);
        match &output {
            Some(Output::Data(_, v)) | Some(Output::Version(v)) => seen[k] = *v,
            Some(_) => {}
            None => {
                // The connection is gone (its member was killed or lost the leader): a new
                // session, as an application would.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_ops_stay_linearizable_across_leader_sigkill() {
    let mut e = Ensemble::start(37, 3, 0);
    let c = connect(&e.connect_string()).await;
    c.create(
        "/lin",
        b"",
        &CreateMode::Persistent.with_acls(Acls::anyone_all()),
    )
    .await
    .expect("create /lin");
    drop(c);

    let origin = Instant::now();
    let until = origin + Duration::from_secs(6);
    let history: History = Arc::default();
    let clients: Vec<_> = (0..6)
        .map(|id| {
            tokio::spawn(client_loop(
                id,
                e.connect_string(),
                origin,
                until,
                history.clone(),
            ))
        })
        .collect();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let leader = e.leader();
        e.members[leader].kill();
        tokio::time::sleep(Duration::from_millis(300)).await;
        e.members[leader].restart();
    }
    for t in clients {
        t.await.expect("client task");
    }

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
        let logs: Vec<String> = e.members.iter().map(|m| m.log()).collect();
        panic!("/lin/k{key}: {v}\nmember logs:\n{}", logs.join("\n-----\n"));
    }
}
