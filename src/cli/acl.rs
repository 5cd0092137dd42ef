//! ACL strings as zkCli reads and prints them.
//!
//! Input is `scheme:id:perms[,scheme:id:perms...]` where the id is everything between the first
//! and the last colon (so `digest:user:hash:cdrwa` works). zkCli does not reject a malformed
//! entry or an unknown permission letter: it warns on stderr and goes on, and we keep that.
//! Output is jute's CSV rendering of the `Id` record (`'scheme,'id` and a line break) followed
//! by `: ` and the permission letters in `cdrwa` order.

use zookeeper_client::{Acl, AuthId, Permission};

/// Permission bits as on the wire.
pub const READ: i32 = 1;
/// Permission to set data.
pub const WRITE: i32 = 2;
/// Permission to create children.
pub const CREATE: i32 = 4;
/// Permission to delete children.
pub const DELETE: i32 = 8;
/// Permission to set the ACL.
pub const ADMIN: i32 = 16;

/// One parsed ACL entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    /// Auth scheme (`world`, `digest`, `ip`, `auth`, ...).
    pub scheme: String,
    /// Identity within the scheme.
    pub id: String,
    /// Permission bits.
    pub perms: i32,
}

/// Parsed entries plus the warnings zkCli would print to stderr.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParsedAcl {
    /// Entries that had the form `scheme:id:perms`.
    pub entries: Vec<AclEntry>,
    /// One line each, without newline.
    pub warnings: Vec<String>,
}

/// Parses an ACL string the way zkCli's `AclParser` does.
pub fn parse_acl(text: &str) -> ParsedAcl {
    let mut parsed = ParsedAcl::default();
    for part in text.split(',') {
        let (Some(first), Some(last)) = (part.find(':'), part.rfind(':')) else {
            parsed
                .warnings
                .push(format!("{part} does not have the form scheme:id:perm"));
            continue;
        };
        if first == last {
            parsed
                .warnings
                .push(format!("{part} does not have the form scheme:id:perm"));
            continue;
        }
        let mut perms = 0;
        for c in part[last + 1..].chars() {
            match c {
                'r' => perms |= READ,
                'w' => perms |= WRITE,
                'c' => perms |= CREATE,
                'd' => perms |= DELETE,
                'a' => perms |= ADMIN,
                other => parsed.warnings.push(format!("Unknown perm type: {other}")),
            }
        }
        parsed.entries.push(AclEntry {
            scheme: part[..first].to_string(),
            id: part[first + 1..last].to_string(),
            perms,
        });
    }
    parsed
}

/// Permission letters in zkCli's order (`cdrwa`).
pub fn perm_string(perms: i32) -> String {
    [
        (CREATE, 'c'),
        (DELETE, 'd'),
        (READ, 'r'),
        (WRITE, 'w'),
        (ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| perms & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

/// jute's CSV string encoding: a leading `'` and a few characters percent-escaped.
fn csv_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// The lines `getAcl` prints for one entry (the id record ends in a newline in jute).
pub fn format_acl_entry(scheme: &str, id: &str, perms: i32) -> String {
    format!(
        "{},{}\n: {}",
        csv_string(scheme),
        csv_string(id),
        perm_string(perms)
    )
}

/// Converts permission bits into the client crate's type.
fn to_permission(perms: i32) -> Permission {
    [
        (READ, Permission::READ),
        (WRITE, Permission::WRITE),
        (CREATE, Permission::CREATE),
        (DELETE, Permission::DELETE),
        (ADMIN, Permission::ADMIN),
    ]
    .iter()
    .filter(|(bit, _)| perms & bit != 0)
    .fold(Permission::NONE, |acc, (_, p)| acc | *p)
}

/// Permission bits of the client crate's type.
pub fn from_permission(permission: Permission) -> i32 {
    [
        (READ, Permission::READ),
        (WRITE, Permission::WRITE),
        (CREATE, Permission::CREATE),
        (DELETE, Permission::DELETE),
        (ADMIN, Permission::ADMIN),
    ]
    .iter()
    .filter(|(_, p)| permission.has(*p))
    .fold(0, |acc, (bit, _)| acc | bit)
}

/// Converts parsed entries into the client crate's ACL list.
pub fn to_client_acls(entries: &[AclEntry]) -> Vec<Acl> {
    entries
        .iter()
        .map(|e| Acl::new(to_permission(e.perms), AuthId::new(&e.scheme, &e.id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_several_entries() {
        let parsed = parse_acl("world:anyone:cdrwa,digest:u:h:cd,ip:127.0.0.1:r");
        assert!(parsed.warnings.is_empty());
        assert_eq!(
            parsed.entries,
            vec![
                AclEntry {
                    scheme: "world".into(),
                    id: "anyone".into(),
                    perms: 31
                },
                AclEntry {
                    scheme: "digest".into(),
                    id: "u:h".into(),
                    perms: CREATE | DELETE
                },
                AclEntry {
                    scheme: "ip".into(),
                    id: "127.0.0.1".into(),
                    perms: READ
                },
            ]
        );
    }

    #[test]
    fn malformed_entries_warn_and_are_skipped() {
        let parsed = parse_acl("bad,world:anyone:rq,x:y");
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].perms, READ);
        assert_eq!(
            parsed.warnings,
            vec![
                "bad does not have the form scheme:id:perm".to_string(),
                "Unknown perm type: q".into(),
                "x:y does not have the form scheme:id:perm".into(),
            ]
        );
    }

    #[test]
    fn empty_perms_and_id() {
        let parsed = parse_acl("auth::cdrwa");
        assert_eq!(
            parsed.entries,
            vec![AclEntry {
                scheme: "auth".into(),
                id: "".into(),
                perms: 31
            }]
        );
        assert_eq!(parse_acl("world:anyone:").entries[0].perms, 0);
    }

    #[test]
    fn perm_letters_in_zkcli_order() {
        assert_eq!(perm_string(31), "cdrwa");
        assert_eq!(perm_string(READ | ADMIN), "ra");
        assert_eq!(perm_string(0), "");
    }

    #[test]
    fn formats_like_jute_csv() {
        assert_eq!(
            format_acl_entry("world", "anyone", 31),
            "'world,'anyone\n: cdrwa"
        );
        assert_eq!(format_acl_entry("x", "a,b}%", 1), "'x,'a%2Cb%7D%25\n: r");
    }

    #[test]
    fn permission_round_trip() {
        for bits in 0..32 {
            assert_eq!(from_permission(to_permission(bits)), bits);
        }
    }
}
