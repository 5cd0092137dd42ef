//! A shell command parsed from its words, with zkCli's flags, defaults and checks.
//!
//! Parsing is pure: what the shell will send is decided here, so every rule (option letters,
//! deprecated `path watch` forms, TTL limits) is unit-tested without a server.

use super::error::CliError;
use super::options::{self, OptSpec, Parsed, flag, valued};
use super::usage::usage_of;

/// Largest TTL the server accepts (five bytes of milliseconds).
pub const MAX_TTL: i64 = 0x00FF_FFFF_FFFF;

/// How `get` prints data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// UTF-8 text (lossy), zkCli's default.
    Plain,
    /// `-b`: base64.
    Base64,
    /// `-x`: netty's hex dump table.
    HexDump,
}

/// The kind of znode `create` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Default.
    Persistent,
    /// `-s`.
    PersistentSequential,
    /// `-e`.
    Ephemeral,
    /// `-e -s`.
    EphemeralSequential,
    /// `-c`.
    Container,
}

impl NodeKind {
    /// Whether the server appends a counter to the name.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            NodeKind::PersistentSequential | NodeKind::EphemeralSequential
        )
    }
}

/// `addWatch -m` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// `PERSISTENT`.
    Persistent,
    /// `PERSISTENT_RECURSIVE`, the default.
    PersistentRecursive,
}

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `ls [-s] [-w] [-R] path`
    Ls {
        path: String,
        stat: bool,
        watch: bool,
        recursive: bool,
    },
    /// `create [-s] [-e] [-c] [-t ttl] path [data] [acl]`
    Create {
        path: String,
        data: Option<String>,
        acl: Option<String>,
        kind: NodeKind,
        ttl: Option<i64>,
    },
    /// `get [-s] [-w] [-b] [-x] path`
    Get {
        path: String,
        stat: bool,
        watch: bool,
        format: DataFormat,
    },
    /// `set path data [-s] [-v version] [-b]`
    Set {
        path: String,
        data: String,
        stat: bool,
        version: Option<i32>,
        base64: bool,
    },
    /// `stat [-w] path`
    Stat { path: String, watch: bool },
    /// `delete [-v version] path`
    Delete { path: String, version: Option<i32> },
    /// `deleteall path [-b batch size]`
    DeleteAll { path: String, batch: usize },
    /// `getAcl [-s] path`
    GetAcl { path: String, stat: bool },
    /// `setAcl [-s] [-v version] [-R] path acl`
    SetAcl {
        path: String,
        acl: String,
        stat: bool,
        version: Option<i32>,
        recursive: bool,
    },
    /// `addauth scheme [auth]`
    AddAuth {
        scheme: String,
        auth: Option<String>,
    },
    /// `addWatch [-m mode] path`
    AddWatch { path: String, mode: WatchMode },
    /// `sync path`
    Sync { path: String },
    /// `getEphemerals [path]`
    GetEphemerals { path: Option<String> },
    /// `getAllChildrenNumber path`
    GetAllChildrenNumber { path: String },
    /// `whoami`
    WhoAmI,
    /// `config [-c] [-w] [-s]`
    Config {
        stat: bool,
        watch: bool,
        client: bool,
    },
    /// `version`
    Version,
    /// `help`
    Help,
    /// `quit`
    Quit,
    /// `close`
    Close,
    /// `connect [host:port]`
    Connect { server: Option<String> },
    /// `history`
    History,
    /// `redo cmdno`
    Redo { index: String },
    /// `printwatches [on|off]`
    PrintWatches { on: Option<bool> },
}

/// What parsing produced: the command and lines zkCli prints on stderr while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    /// The command to run.
    pub command: Command,
    /// Deprecation notices, printed before the command runs.
    pub warnings: Vec<String>,
}

fn parse_with(specs: &[OptSpec], words: &[String]) -> Result<Parsed, CliError> {
    Ok(options::parse(specs, words)?)
}

/// zkCli's compatibility for `ls|get|stat path watch`: the third word becomes `-w`.
fn rewrite_watch_word(
    specs: &[OptSpec],
    words: &[String],
    parsed: Parsed,
    name: &str,
    new_form: &str,
    warnings: &mut Vec<String>,
) -> Result<Parsed, CliError> {
    if parsed.args.len() <= 2 {
        return Ok(parsed);
    }
    let mut rewritten = words.to_vec();
    rewritten[2] = "-w".to_string();
    warnings.push(format!(
        "'{name} path [watch]' has been deprecated. Please use '{new_form}' instead."
    ));
    parse_with(specs, &rewritten)
}

fn int_option(parsed: &Parsed, name: char) -> Result<Option<i32>, CliError> {
    parsed
        .value(name)
        .map(|v| {
            v.parse::<i32>()
                .map_err(|_| CliError::Malformed(format!("-{name} argument must be an int value")))
        })
        .transpose()
}

fn usage(name: &str) -> CliError {
    CliError::Usage(usage_of(name))
}

fn parse_create(words: &[String]) -> Result<Command, CliError> {
    let parsed = parse_with(&[flag('e'), flag('s'), flag('c'), valued('t')], words)?;
    if parsed.args.len() < 2 {
        return Err(usage("create"));
    }
    let (e, s, c, t) = (
        parsed.has('e'),
        parsed.has('s'),
        parsed.has('c'),
        parsed.has('t'),
    );
    if c && (e || s) {
        return Err(CliError::Malformed(
            "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential."
                .into(),
        ));
    }
    let ttl = match parsed.value('t') {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| CliError::Malformed("-t argument must be a long value".into()))?,
        ),
        None => None,
    };
    if t && e {
        return Err(CliError::Malformed(
            "TTLs cannot be used with Ephemeral znodes".into(),
        ));
    }
    if t && c {
        return Err(CliError::Malformed(
            "TTLs cannot be used with Container znodes".into(),
        ));
    }
    if let Some(ttl) = ttl
        && !(1..=MAX_TTL).contains(&ttl)
    {
        return Err(CliError::Malformed(format!(
            "ttl must be positive and cannot be larger than: {MAX_TTL}"
        )));
    }
    let kind = match (e, s, c) {
        (true, true, _) => NodeKind::EphemeralSequential,
        (true, false, _) => NodeKind::Ephemeral,
        (false, true, _) => NodeKind::PersistentSequential,
        (false, false, true) => NodeKind::Container,
        (false, false, false) => NodeKind::Persistent,
    };
    Ok(Command::Create {
        path: parsed.args[1].clone(),
        data: parsed.args.get(2).cloned(),
        acl: parsed.args.get(3).cloned(),
        kind,
        ttl,
    })
}

fn parse_ls(words: &[String], warnings: &mut Vec<String>) -> Result<Command, CliError> {
    let specs = [flag('s'), flag('w'), flag('R')];
    let parsed = parse_with(&specs, words)?;
    let parsed = rewrite_watch_word(&specs, words, parsed, "ls", "ls [-w] path", warnings)?;
    let path = parsed
        .args
        .get(1)
        .ok_or_else(|| CliError::Malformed(usage_of("ls")))?;
    Ok(Command::Ls {
        path: path.clone(),
        stat: parsed.has('s'),
        watch: parsed.has('w'),
        recursive: parsed.has('R'),
    })
}

fn parse_get(words: &[String], warnings: &mut Vec<String>) -> Result<Command, CliError> {
    let specs = [flag('s'), flag('w'), flag('b'), flag('x')];
    let parsed = parse_with(&specs, words)?;
    if parsed.args.len() < 2 {
        return Err(usage("get"));
    }
    let parsed = rewrite_watch_word(&specs, words, parsed, "get", "get [-s] [-w] path", warnings)?;
    let format = if parsed.has('x') {
        DataFormat::HexDump
    } else if parsed.has('b') {
        DataFormat::Base64
    } else {
        DataFormat::Plain
    };
    Ok(Command::Get {
        path: parsed.args[1].clone(),
        stat: parsed.has('s'),
        watch: parsed.has('w'),
        format,
    })
}

fn parse_stat(words: &[String], warnings: &mut Vec<String>) -> Result<Command, CliError> {
    let specs = [flag('w')];
    let parsed = parse_with(&specs, words)?;
    if parsed.args.len() < 2 {
        return Err(usage("stat"));
    }
    let parsed = rewrite_watch_word(&specs, words, parsed, "stat", "stat [-w] path", warnings)?;
    Ok(Command::Stat {
        path: parsed.args[1].clone(),
        watch: parsed.has('w'),
    })
}

fn parse_delete(words: &[String], warnings: &mut Vec<String>) -> Result<Command, CliError> {
    let parsed = parse_with(&[valued('v')], words)?;
    if parsed.args.len() < 2 {
        return Err(usage("delete"));
    }
    if parsed.args.len() > 2 {
        // zkCli warns and then ignores the positional version.
        warnings.push("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.".into());
    }
    Ok(Command::Delete {
        path: parsed.args[1].clone(),
        version: int_option(&parsed, 'v')?,
    })
}

fn parse_set_acl(words: &[String]) -> Result<Command, CliError> {
    let parsed = parse_with(&[flag('s'), valued('v'), flag('R')], words)?;
    if parsed.args.len() < 3 {
        return Err(usage("setAcl"));
    }
    Ok(Command::SetAcl {
        path: parsed.args[1].clone(),
        acl: parsed.args[2].clone(),
        stat: parsed.has('s'),
        version: int_option(&parsed, 'v')?,
        recursive: parsed.has('R'),
    })
}

fn parse_add_watch(words: &[String]) -> Result<Command, CliError> {
    let parsed = parse_with(&[valued('m')], words)?;
    if parsed.args.len() != 2 {
        return Err(usage("addWatch"));
    }
    let mode = match parsed.value('m').map(str::to_uppercase).as_deref() {
        None | Some("PERSISTENT_RECURSIVE") => WatchMode::PersistentRecursive,
        Some("PERSISTENT") => WatchMode::Persistent,
        Some(_) => return Err(usage("addWatch")),
    };
    Ok(Command::AddWatch {
        path: parsed.args[1].clone(),
        mode,
    })
}

/// Words of a command with only positional arguments, at least `min` of them after the name.
fn positional(words: &[String], name: &str, min: usize) -> Result<Parsed, CliError> {
    let parsed = parse_with(&[], words)?;
    if parsed.args.len() < min + 1 {
        return Err(usage(name));
    }
    Ok(parsed)
}

/// Parses the words of one command line (the command name first).
pub fn parse_command(words: &[String]) -> Result<ParsedCommand, CliError> {
    let mut warnings = Vec::new();
    let Some(name) = words.first() else {
        return Err(CliError::Malformed("No command entered".into()));
    };
    let arg = |i: usize| words.get(i).cloned();
    let command = match name.as_str() {
        "ls" => parse_ls(words, &mut warnings)?,
        "create" => parse_create(words)?,
        "get" => parse_get(words, &mut warnings)?,
        "set" => {
            let parsed = parse_with(&[flag('s'), valued('v'), flag('b')], words)?;
            if parsed.args.len() < 3 {
                return Err(usage("set"));
            }
            Command::Set {
                path: parsed.args[1].clone(),
                data: parsed.args[2].clone(),
                stat: parsed.has('s'),
                version: int_option(&parsed, 'v')?,
                base64: parsed.has('b'),
            }
        }
        "stat" => parse_stat(words, &mut warnings)?,
        "delete" => parse_delete(words, &mut warnings)?,
        "deleteall" => {
            let parsed = parse_with(&[valued('b')], words)?;
            if parsed.args.len() < 2 {
                return Err(usage("deleteall"));
            }
            let batch = match parsed.value('b') {
                Some(v) => v
                    .parse::<i32>()
                    .map_err(|_| CliError::Malformed("-b argument must be an int value".into()))?
                    .max(0) as usize,
                None => 1000,
            };
            Command::DeleteAll {
                path: parsed.args[1].clone(),
                batch,
            }
        }
        "getAcl" => {
            let parsed = parse_with(&[flag('s')], words)?;
            if parsed.args.len() < 2 {
                return Err(usage("getAcl"));
            }
            Command::GetAcl {
                path: parsed.args[1].clone(),
                stat: parsed.has('s'),
            }
        }
        "setAcl" => parse_set_acl(words)?,
        "addauth" => {
            let parsed = positional(words, "addauth", 1)?;
            Command::AddAuth {
                scheme: parsed.args[1].clone(),
                auth: parsed.args.get(2).cloned(),
            }
        }
        "addWatch" => parse_add_watch(words)?,
        "sync" => Command::Sync {
            path: positional(words, "sync", 1)?.args[1].clone(),
        },
        "getEphemerals" => Command::GetEphemerals {
            path: parse_with(&[], words)?.args.get(1).cloned(),
        },
        "getAllChildrenNumber" => {
            let parsed = parse_with(&[], words)?;
            let path = parsed
                .args
                .get(1)
                .ok_or_else(|| CliError::Malformed(usage_of("getAllChildrenNumber")))?;
            Command::GetAllChildrenNumber { path: path.clone() }
        }
        "whoami" => Command::WhoAmI,
        "config" => {
            let parsed = parse_with(&[flag('s'), flag('w'), flag('c')], words)?;
            Command::Config {
                stat: parsed.has('s'),
                watch: parsed.has('w'),
                client: parsed.has('c'),
            }
        }
        "version" => {
            if parse_with(&[], words)?.args.len() > 1 {
                return Err(usage("version"));
            }
            Command::Version
        }
        "help" => Command::Help,
        "quit" => Command::Quit,
        "close" => Command::Close,
        "connect" => Command::Connect { server: arg(1) },
        "history" => Command::History,
        "redo" => match arg(1) {
            Some(index) => Command::Redo { index },
            None => return Err(CliError::CommandNotFound("redo".into())),
        },
        "printwatches" => Command::PrintWatches {
            on: arg(1).map(|v| v == "on"),
        },
        other => return Err(CliError::CommandNotFound(other.to_string())),
    };
    Ok(ParsedCommand { command, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tokenize::tokenize;

    fn parse(line: &str) -> Result<Command, CliError> {
        parse_command(&tokenize(line)).map(|p| p.command)
    }

    fn err(line: &str) -> String {
        match parse(line) {
            Ok(c) => panic!("{line} parsed as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn ls_flags() {
        assert_eq!(
            parse("ls -s -R /a").unwrap(),
            Command::Ls {
                path: "/a".into(),
                stat: true,
                watch: false,
                recursive: true
            }
        );
        assert_eq!(err("ls"), "ls [-s] [-w] [-R] path");
    }

    #[test]
    fn deprecated_watch_word() {
        let parsed = parse_command(&tokenize("ls / watch")).unwrap();
        assert_eq!(
            parsed.command,
            Command::Ls {
                path: "/".into(),
                stat: false,
                watch: true,
                recursive: false
            }
        );
        assert_eq!(
            parsed.warnings,
            ["'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead."]
        );
        let parsed = parse_command(&tokenize("get /a 1")).unwrap();
        assert_eq!(
            parsed.command,
            Command::Get {
                path: "/a".into(),
                stat: false,
                watch: true,
                format: DataFormat::Plain
            }
        );
    }

    #[test]
    fn create_modes() {
        let c = |line| match parse(line).unwrap() {
            Command::Create { kind, ttl, .. } => (kind, ttl),
            other => panic!("{other:?}"),
        };
        assert_eq!(c("create /a"), (NodeKind::Persistent, None));
        assert_eq!(c("create -s /a"), (NodeKind::PersistentSequential, None));
        assert_eq!(c("create -e /a"), (NodeKind::Ephemeral, None));
        assert_eq!(c("create -es /a"), (NodeKind::EphemeralSequential, None));
        assert_eq!(c("create -c /a"), (NodeKind::Container, None));
        assert_eq!(c("create -t 500 /a"), (NodeKind::Persistent, Some(500)));
        assert_eq!(
            c("create -s -t 500 /a"),
            (NodeKind::PersistentSequential, Some(500))
        );
    }

    #[test]
    fn create_data_and_acl() {
        assert_eq!(
            parse("create /a 'some data' world:anyone:r").unwrap(),
            Command::Create {
                path: "/a".into(),
                data: Some("some data".into()),
                acl: Some("world:anyone:r".into()),
                kind: NodeKind::Persistent,
                ttl: None
            }
        );
    }

    #[test]
    fn create_refusals_match_zkcli() {
        assert_eq!(
            err("create -c -s /a"),
            "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential."
        );
        assert_eq!(
            err("create -t 5 -e /a"),
            "TTLs cannot be used with Ephemeral znodes"
        );
        assert_eq!(
            err("create -t 5 -c /a"),
            "TTLs cannot be used with Container znodes"
        );
        assert_eq!(
            err("create -t 0 /a"),
            "ttl must be positive and cannot be larger than: 1099511627775"
        );
        assert_eq!(err("create -t x /a"), "-t argument must be a long value");
        assert_eq!(
            err("create"),
            "create [-s] [-e] [-c] [-t ttl] path [data] [acl]"
        );
    }

    #[test]
    fn set_and_delete() {
        assert_eq!(
            parse("set /a data -s -v 3").unwrap(),
            Command::Set {
                path: "/a".into(),
                data: "data".into(),
                stat: true,
                version: Some(3),
                base64: false
            }
        );
        assert!(err("set /a").starts_with("set path data [-s] [-v version] [-b]\n"));
        assert_eq!(err("set -v x /a d"), "-v argument must be an int value");
        assert_eq!(
            parse("delete -v -1 /a").unwrap(),
            Command::Delete {
                path: "/a".into(),
                version: Some(-1)
            }
        );
        assert_eq!(err("delete -v"), "Missing argument for option: v");
    }

    #[test]
    fn get_formats() {
        let f = |line| match parse(line).unwrap() {
            Command::Get { format, .. } => format,
            other => panic!("{other:?}"),
        };
        assert_eq!(f("get /a"), DataFormat::Plain);
        assert_eq!(f("get -b /a"), DataFormat::Base64);
        assert_eq!(f("get -x /a"), DataFormat::HexDump);
        assert_eq!(err("get -z /a"), "Unrecognized option: -z");
    }

    #[test]
    fn acl_commands() {
        assert_eq!(
            parse("setAcl -R -v 2 /a world:anyone:r").unwrap(),
            Command::SetAcl {
                path: "/a".into(),
                acl: "world:anyone:r".into(),
                stat: false,
                version: Some(2),
                recursive: true
            }
        );
        assert_eq!(
            parse("getAcl -s /a").unwrap(),
            Command::GetAcl {
                path: "/a".into(),
                stat: true
            }
        );
        assert_eq!(err("setAcl /a"), "setAcl [-s] [-v version] [-R] path acl");
    }

    #[test]
    fn small_commands() {
        assert_eq!(
            parse("getEphemerals").unwrap(),
            Command::GetEphemerals { path: None }
        );
        assert_eq!(parse("whoami extra").unwrap(), Command::WhoAmI);
        assert_eq!(
            parse("config -s").unwrap(),
            Command::Config {
                stat: true,
                watch: false,
                client: false
            }
        );
        assert_eq!(err("getAllChildrenNumber"), "getAllChildrenNumber path");
        assert_eq!(
            parse("addauth digest u:p").unwrap(),
            Command::AddAuth {
                scheme: "digest".into(),
                auth: Some("u:p".into())
            }
        );
        assert_eq!(
            parse("addWatch -m persistent /a").unwrap(),
            Command::AddWatch {
                path: "/a".into(),
                mode: WatchMode::Persistent
            }
        );
        assert_eq!(
            parse("deleteall /a -b 10").unwrap(),
            Command::DeleteAll {
                path: "/a".into(),
                batch: 10
            }
        );
        assert_eq!(err("foo"), "Command not found: Command not found foo");
        assert_eq!(
            parse("printwatches off").unwrap(),
            Command::PrintWatches { on: Some(false) }
        );
    }
}
