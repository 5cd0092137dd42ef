//! ACL rules: permission bits, which identities match an ACL entry (world, digest, ip, super),
//! and how a requested ACL list is checked and expanded before it is stored (fixupACL).

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::proto::records::{Acl, Id};
use crate::proto::{ErrorCode, ZkResult};

pub const READ: i32 = 1;
pub const WRITE: i32 = 2;
pub const CREATE: i32 = 4;
pub const DELETE: i32 = 8;
pub const ADMIN: i32 = 16;
pub const ALL: i32 = 31;

/// `world:anyone` with every permission: the ACL of nodes created without one in mind.
pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// `world:anyone` read-only, as ZooKeeper protects /zookeeper/config.
pub fn read_acl() -> Vec<Acl> {
    vec![Acl {
        perms: READ,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// The digest form of `user:password`: `user:base64(sha1("user:password"))`.
pub fn digest(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// Whether the caller's identities grant `perm` under `acl` (ZooKeeperServer.checkACL).
pub fn allowed(acl: &[Acl], perm: i32, auth: &[Id]) -> bool {
    if acl.is_empty() || auth.iter().any(|a| a.scheme == "super") {
        return true;
    }
    acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        (a.id.scheme == "world" && a.id.id == "anyone")
            || auth
                .iter()
                .filter(|c| c.scheme == a.id.scheme)
                .any(|c| matches(&a.id.scheme, &c.id, &a.id.id))
    })
}

fn matches(scheme: &str, caller: &str, acl_id: &str) -> bool {
    match scheme {
        "digest" => caller == acl_id,
        "ip" => ip_matches(caller, acl_id),
        _ => false,
    }
}

/// Java's `String.split`: trailing empty fields are dropped (`"a:b:"` has two fields).
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut v: Vec<&str> = s.split(sep).collect();
    while v.len() > 1 && v.last().is_some_and(|f| f.is_empty()) {
        v.pop();
    }
    if v == [""] && !s.is_empty() {
        v.clear();
    }
    v
}

/// Whether the identity id is well formed for its scheme (AuthenticationProvider.isValid).
fn valid_id(scheme: &str, id: &str) -> bool {
    match scheme {
        "digest" => java_split(id, ':').len() == 2,
        "ip" => parse_cidr(id).is_some(),
        _ => false,
    }
}

/// Checks and expands a requested ACL list (PrepRequestProcessor.fixupACL): duplicates are
/// dropped, `auth` becomes the caller's authenticated identities, unknown schemes and malformed
/// ids are refused with INVALIDACL.
pub fn fixup(acl: &[Acl], auth: &[Id]) -> ZkResult<Vec<Acl>> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::INVALID_ACL);
    }
    let mut out = Vec::with_capacity(unique.len());
    for a in unique {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            // Only identities proven by an authentication (digest) count; ip does not.
            let mut any = false;
            for c in auth.iter().filter(|c| c.scheme == "digest") {
                any = true;
                out.push(Acl {
                    perms: a.perms,
                    id: c.clone(),
                });
            }
            if !any {
                return Err(ErrorCode::INVALID_ACL);
            }
        } else if valid_id(&a.id.scheme, &a.id.id) {
            out.push(a.clone());
        } else {
            return Err(ErrorCode::INVALID_ACL);
        }
    }
    Ok(out)
}

/// Java's `Integer.parseInt`: optional sign, decimal digits (leading zeros allowed).
fn java_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// An address as IPAuthenticationProvider reads it: IPv4 as four dot-separated decimal
/// fields (so `127.0.0.01` is 127.0.0.1), IPv6 as hex groups without a dotted tail.
fn parse_addr(addr: &str) -> Option<std::net::IpAddr> {
    if addr.contains(':') {
        if addr.contains('.') {
            return None;
        }
        return addr.parse::<std::net::Ipv6Addr>().ok().map(Into::into);
    }
    let fields = java_split(addr, '.');
    if fields.len() != 4 {
        return None;
    }
    let mut b = [0u8; 4];
    for (i, f) in fields.iter().enumerate() {
        b[i] = u8::try_from(java_int(f)?).ok()?;
    }
    Some(std::net::IpAddr::from(b))
}

/// An address and prefix length; IPv4 only carries 4 meaningful bytes.
fn parse_cidr(s: &str) -> Option<(std::net::IpAddr, u32)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(java_int(b)?)),
        None => (s, None),
    };
    let ip = parse_addr(addr)?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (0..=max).contains(&bits).then_some((ip, bits as u32))
}

fn ip_matches(caller: &str, acl_id: &str) -> bool {
    let (Some((want, bits)), Ok(have)) = (parse_cidr(acl_id), caller.parse::<std::net::IpAddr>())
    else {
        return false;
    };
    let (w, h): (Vec<u8>, Vec<u8>) = match (want, have) {
        (std::net::IpAddr::V4(w), std::net::IpAddr::V4(h)) => {
            (w.octets().into(), h.octets().into())
        }
        (std::net::IpAddr::V6(w), std::net::IpAddr::V6(h)) => {
            (w.octets().into(), h.octets().into())
        }
        _ => return false,
    };
    let mut left = bits;
    for (a, b) in w.iter().zip(h.iter()) {
        if left == 0 {
            break;
        }
        let n = left.min(8);
        let mask = (0xffu16 << (8 - n)) as u8;
        if a & mask != b & mask {
            return false;
        }
        left -= n;
    }
    true
}

/// Hides the password hash of digest identities for callers without ADMIN (getACL since 3.6).
pub fn redact(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            let mut a = a.clone();
            if a.id.scheme == "digest"
                && let Some((user, _)) = a.id.id.split_once(':')
            {
                a.id.id = format!("{user}:x");
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str, i: &str) -> Id {
        Id {
            scheme: s.into(),
            id: i.into(),
        }
    }
    fn acl(p: i32, s: &str, i: &str) -> Acl {
        Acl {
            perms: p,
            id: id(s, i),
        }
    }

    #[test]
    fn digest_matches_zookeeper() {
        // Known value from ZooKeeper's documentation for super:test.
        assert_eq!(digest("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    }

    #[test]
    fn world_digest_ip_and_super() {
        let a = vec![acl(READ, "digest", "u:h"), acl(WRITE, "ip", "10.0.0.0/8")];
        assert!(allowed(&a, READ, &[id("digest", "u:h")]));
        assert!(!allowed(&a, WRITE, &[id("digest", "u:h")]));
        assert!(allowed(&a, WRITE, &[id("ip", "10.1.2.3")]));
        assert!(!allowed(&a, WRITE, &[id("ip", "11.1.2.3")]));
        // IPv4 fields are Java integers: leading zeros and a sign are accepted.
        for lenient in ["127.0.0.01", "0127.0.0.1", "+127.0.0.1"] {
            assert!(
                allowed(&[acl(READ, "ip", lenient)], READ, &[id("ip", "127.0.0.1")]),
                "{lenient}"
            );
        }
        assert!(parse_cidr("::ffff:127.0.0.1").is_none());
        assert!(parse_cidr("::1/128").is_some());
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(allowed(&a, ADMIN, &[id("super", "")]));
        assert!(allowed(&open_acl(), DELETE, &[]));
        assert!(allowed(&[], DELETE, &[]));
    }

    #[test]
    fn fixup_expands_auth_and_refuses_nonsense() {
        let me = [id("ip", "127.0.0.1"), id("digest", "u:h")];
        assert_eq!(
            fixup(&[acl(ALL, "auth", "")], &me).unwrap(),
            vec![acl(ALL, "digest", "u:h")]
        );
        assert_eq!(
            fixup(&[acl(ALL, "auth", "")], &me[..1]),
            Err(ErrorCode::INVALID_ACL)
        );
        assert_eq!(fixup(&[], &me), Err(ErrorCode::INVALID_ACL));
        assert_eq!(
            fixup(&[acl(ALL, "world", "someone")], &me),
            Err(ErrorCode::INVALID_ACL)
        );
        assert_eq!(
            fixup(&[acl(ALL, "ip", "300.0.0.1")], &me),
            Err(ErrorCode::INVALID_ACL)
        );
        assert_eq!(
            fixup(&[acl(ALL, "digest", "nocolon")], &me),
            Err(ErrorCode::INVALID_ACL)
        );
        // Java's split drops trailing empty fields: these are what ZooKeeper accepts.
        for ok in ["alice:abc:", ":h", "a:b::"] {
            assert!(fixup(&[acl(ALL, "digest", ok)], &me).is_ok(), "{ok}");
        }
        for bad in ["alice:", ":", "a:b:c"] {
            assert!(fixup(&[acl(ALL, "digest", bad)], &me).is_err(), "{bad}");
        }
        let dup = [acl(ALL, "world", "anyone"), acl(ALL, "world", "anyone")];
        assert_eq!(fixup(&dup, &me).unwrap().len(), 1);
    }

    #[test]
    fn redaction_hides_hashes() {
        assert_eq!(redact(&[acl(1, "digest", "u:h")])[0].id.id, "u:x");
    }
}
