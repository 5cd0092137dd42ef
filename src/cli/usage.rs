//! Usage text: the per-command synopses zkCli prints and the command list of `help`.

/// Synopsis of each command, in alphabetical order as zkCli lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "addWatch",
        "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
    ),
    ("addauth", "scheme auth"),
    ("close", ""),
    ("config", "[-c] [-w] [-s]"),
    ("connect", "host:port"),
    ("create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    ("delete", "[-v version] path"),
    ("deleteall", "path [-b batch size]"),
    ("get", "[-s] [-w] [-b] [-x] path"),
    ("getAcl", "[-s] path"),
    ("getAllChildrenNumber", "path"),
    ("getEphemerals", "path"),
    ("help", ""),
    ("history", ""),
    ("ls", "[-s] [-w] [-R] path"),
    ("printwatches", "on|off"),
    ("quit", ""),
    ("redo", "cmdno"),
    ("set", "path data [-s] [-v version] [-b]"),
    ("setAcl", "[-s] [-v version] [-R] path acl"),
    ("stat", "[-w] path"),
    ("sync", "path"),
    ("version", ""),
    ("whoami", ""),
];

/// Option descriptions that zkCli appends to the synopsis of `get` and `set`.
const GET_OPTIONS: &str = " -b   Output data in base64 format\n -s   Print znode stats additionally\n -w   Watch for changes on the znode\n -x   Output data in hexdump format\n";
const SET_OPTIONS: &str = " -b         Supply data in base64 format\n -s         Print znode stats additionally\n -v <arg>   Set with an expected version\n";

/// `name synopsis`, plus the option list for the commands zkCli describes in detail.
pub fn usage_of(name: &str) -> String {
    let synopsis = COMMANDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .unwrap_or_default();
    let mut text = format!("{name} {synopsis}");
    match name {
        "get" => {
            text.push('\n');
            text.push_str(GET_OPTIONS);
        }
        "set" => {
            text.push('\n');
            text.push_str(SET_OPTIONS);
        }
        _ => {}
    }
    text
}

/// The full listing zkCli prints for an unknown or empty command.
pub fn usage_listing() -> String {
    let mut text = String::from("zk cli [--server host:port[,host:port...][/chroot]] cmd args\n");
    for (name, synopsis) in COMMANDS {
        text.push_str(&format!("\t{name} {synopsis}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_like_zkcli() {
        let names: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn usage_texts() {
        assert_eq!(usage_of("ls"), "ls [-s] [-w] [-R] path");
        assert!(
            usage_of("get")
                .starts_with("get [-s] [-w] [-b] [-x] path\n -b   Output data in base64 format\n")
        );
        assert!(usage_listing().contains("\tcreate [-s] [-e] [-c] [-t ttl] path [data] [acl]\n"));
    }
}
