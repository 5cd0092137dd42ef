//! ZooKeeper's read-only mode (`readonlymode.enabled=true`) on a member cut off from its
//! ensemble by a real network partition (see `common::partition`): it answers read-only
//! clients from its local state, refuses writes and `sync` with NotReadOnly and refuses
//! clients that did not ask for read-only service; `isro`, `srvr` and `mntr` say so. Once the
//! partition heals it serves read/write again. Runs in its own network namespace (root needed).

mod common;

use std::time::{Duration, Instant};

use common::ensemble::{Ensemble, client, four_letter};
use common::partition::{join, run_in_private_network, split};
use zookeeper_client::{Acls, CreateMode, Error, SessionState};

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

fn isro(e: &Ensemble, i: usize) -> String {
    four_letter(&e.members[i].ip, e.members[i].client_port, "isro").unwrap_or_default()
}

async fn wait_isro(e: &Ensemble, i: usize, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = isro(e, i);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "isro on member {} says {got:?}, not {want:?}\n{}",
            e.members[i].id,
            e.members[i].log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_cut_off_member_serves_read_only_clients_until_the_partition_heals() {
    run_in_private_network(|| async {
        let e = Ensemble::start_with(64, 3, 0, &["readonlymode.enabled=true"]);
        let leader = e.leader();
        let cut_off = (leader + 1) % 3;
        let rest: Vec<usize> = (0..3).filter(|i| *i != cut_off).collect();
        let c = client(&e.connect_string()).await;
        c.create("/before", b"written before", &persistent())
            .await
            .unwrap();
        // The cut-off member must have it before the partition.
        let on_it = client(&e.members[cut_off].addr()).await;
        on_it.sync("/before").await.unwrap();
        drop(on_it);
        assert_eq!(isro(&e, cut_off), "rw");

        let (me, others): (Vec<String>, Vec<String>) = (
            vec![e.members[cut_off].ip.clone()],
            rest.iter().map(|i| e.members[*i].ip.clone()).collect(),
        );
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        split(&[me[0].as_str()], &others);
        wait_isro(&e, cut_off, "ro").await;
        assert_eq!(e.members[cut_off].mode().as_deref(), Some("read-only"));
        assert!(
            e.members[cut_off]
                .mntr()
                .contains("zk_server_state\tread-only")
        );
        let global = |m: &str| {
            m.lines()
                .find_map(|l| l.strip_prefix("zk_global_sessions\t"))
                .map(str::to_string)
        };
        let global_before = global(&e.members[cut_off].mntr());

        let ro = zookeeper_client::Client::connector()
            .with_session_timeout(Duration::from_secs(4))
            .with_readonly(true)
            .connect(&e.members[cut_off].addr())
            .await
            .expect("read-only connect");
        assert_eq!(ro.state(), SessionState::ConnectedReadOnly);
        assert_eq!(
            ro.get_data("/before").await.unwrap().0,
            b"written before".to_vec()
        );
        assert_eq!(
            ro.create("/during", b"", &persistent()).await.unwrap_err(),
            Error::NotReadOnly
        );
        assert_eq!(
            ro.set_data("/before", b"changed", None).await.unwrap_err(),
            Error::NotReadOnly
        );
        assert_eq!(ro.sync("/before").await.unwrap_err(), Error::NotReadOnly);
        // Reads still work after the refusals: the session is intact.
        assert!(ro.check_stat("/before").await.unwrap().is_some());
        // Its session is local to this member: not in the replicated session table.
        let mntr = e.members[cut_off].mntr();
        assert!(mntr.contains("zk_local_sessions\t1"), "{mntr}");
        assert_eq!(global(&mntr), global_before);

        let plain = tokio::time::timeout(
            Duration::from_secs(5),
            zookeeper_client::Client::connector()
                .with_session_timeout(Duration::from_secs(4))
                .with_connection_timeout(Duration::from_secs(1))
                .connect(&e.members[cut_off].addr()),
        )
        .await;
        assert!(
            !matches!(plain, Ok(Ok(_))),
            "a client that did not ask for read-only service was accepted"
        );
        // The majority goes on writing meanwhile.
        c.create("/during", b"majority", &persistent())
            .await
            .unwrap();

        join(&[me[0].as_str()], &others);
        wait_isro(&e, cut_off, "rw").await;
        e.wait_for_leader(Duration::from_secs(30));
        let rw = client(&e.members[cut_off].addr()).await;
        rw.sync("/during").await.unwrap();
        assert_eq!(
            rw.get_data("/during").await.unwrap().0,
            b"majority".to_vec()
        );
        rw.create("/after", b"", &persistent()).await.unwrap();
        // Local sessions are forgotten with read-only service.
        assert!(
            e.members[cut_off].mntr().contains("zk_local_sessions\t0"),
            "{}",
            e.members[cut_off].mntr()
        );
        assert!(
            e.members[cut_off]
                .log()
                .contains("quorum regained: closing read-only connections"),
            "{}",
            e.members[cut_off].log()
        );
    });
}
