//! ZooKeeper's wire records (zookeeper.jute), field for field.

use bytes::Bytes;

use crate::jute_record;

jute_record!(
    /// Identity in an ACL or an authenticated connection: `scheme:id`.
    Id { scheme: String, id: String }
);

jute_record!(
    /// One ACL entry: permission bits granted to an identity.
    Acl { perms: i32, id: Id }
);

jute_record!(
    /// Znode metadata, 68 bytes on the wire.
    Stat {
        czxid: i64,
        mzxid: i64,
        ctime: i64,
        mtime: i64,
        version: i32,
        cversion: i32,
        aversion: i32,
        ephemeral_owner: i64,
        data_length: i32,
        num_children: i32,
        pzxid: i64,
    }
);

jute_record!(
    /// The handshake body without its optional trailing readOnly byte (read separately).
    ConnectRequest {
        protocol_version: i32,
        last_zxid_seen: i64,
        time_out: i32,
        session_id: i64,
        passwd: Option<Bytes>,
    }
);

jute_record!(
    /// The handshake reply without the readOnly byte, which is sent only to clients that sent one.
    ConnectResponse {
        protocol_version: i32,
        time_out: i32,
        session_id: i64,
        passwd: Option<Bytes>,
    }
);

jute_record!(RequestHeader { xid: i32, op: i32 });
jute_record!(ReplyHeader { xid: i32, zxid: i64, err: i32 });
jute_record!(MultiHeader { op: i32, done: bool, err: i32 });
jute_record!(WatcherEvent { event_type: i32, state: i32, path: String });
jute_record!(ErrorResponse { err: i32 });

jute_record!(CreateRequest { path: String, data: Option<Bytes>, acl: Vec<Acl>, flags: i32 });
jute_record!(CreateTtlRequest { path: String, data: Option<Bytes>, acl: Vec<Acl>, flags: i32, ttl: i64 });
jute_record!(CreateResponse { path: String });
jute_record!(Create2Response { path: String, stat: Stat });
jute_record!(DeleteRequest { path: String, version: i32 });
jute_record!(
    /// Shared by exists, getData, getChildren and getChildren2.
    PathWatchRequest { path: String, watch: bool }
);
jute_record!(StatResponse { stat: Stat });
jute_record!(GetDataResponse { data: Option<Bytes>, stat: Stat });
jute_record!(SetDataRequest { path: String, data: Option<Bytes>, version: i32 });
jute_record!(
    /// Shared by getACL, sync, getEphemerals and getAllChildrenNumber: a lone path.
    PathRequest { path: String }
);
jute_record!(GetAclResponse { acl: Vec<Acl>, stat: Stat });
jute_record!(SetAclRequest { path: String, acl: Vec<Acl>, version: i32 });
jute_record!(GetChildrenResponse { children: Vec<String> });
jute_record!(GetChildren2Response { children: Vec<String>, stat: Stat });
jute_record!(CheckVersionRequest { path: String, version: i32 });
jute_record!(
    /// Shared by checkWatches and removeWatches.
    WatchesRequest { path: String, watcher_type: i32 }
);
jute_record!(AddWatchRequest { path: String, mode: i32 });
jute_record!(GetEphemeralsResponse { ephemerals: Vec<String> });
jute_record!(GetAllChildrenNumberResponse { total_number: i32 });
jute_record!(ClientInfo { auth_scheme: String, user: String });
jute_record!(WhoAmIResponse { client_info: Vec<ClientInfo> });
jute_record!(AuthPacket { auth_type: i32, scheme: String, auth: Option<Bytes> });
jute_record!(ReconfigRequest { joining_servers: String, leaving_servers: String, new_members: String, cur_config_id: i64 });
jute_record!(SaslRequest { token: Option<Bytes> });
jute_record!(SetWatches {
    relative_zxid: i64,
    data_watches: Vec<String>,
    exist_watches: Vec<String>,
    child_watches: Vec<String>,
});
jute_record!(SetWatches2 {
    relative_zxid: i64,
    data_watches: Vec<String>,
    exist_watches: Vec<String>,
    child_watches: Vec<String>,
    persistent_watches: Vec<String>,
    persistent_recursive_watches: Vec<String>,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::{decode, encode};

    #[test]
    fn stat_is_68_bytes() {
        assert_eq!(encode(&Stat::default()).len(), 68);
    }

    #[test]
    fn create_request_round_trips() {
        let req = CreateRequest {
            path: "/a".into(),
            data: Some(Bytes::from_static(b"x")),
            acl: vec![Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }],
            flags: 3,
        };
        assert_eq!(decode::<CreateRequest>(&encode(&req)).unwrap(), req);
    }
}
