//! Which four-letter word a connection sent, and whether this member may answer it.
//!
//! ZooKeeper recognises a four-letter word by reading the first 4 bytes of a new connection
//! as the big-endian int that would otherwise be a frame length; every word's code is far
//! above any legal frame length, so the sniff is unambiguous (`FourLetterCommands.java`,
//! `NIOServerCnxn.checkFourLetterWord`). Answering is then gated by
//! `4lw.commands.whitelist`, whose default is `srvr` alone.

/// A four-letter word ZooKeeper 3.9 knows (`FourLetterCommands.cmd2String`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FourLetterWord {
    /// Serving configuration.
    Conf,
    /// Full connection details.
    Cons,
    /// Reset connection statistics.
    Crst,
    /// Sizes of the snapshot and log directories.
    Dirs,
    /// Sessions, ephemerals and connections by expiry.
    Dump,
    /// Serving environment.
    Envi,
    /// Get the trace mask.
    Gtmk,
    /// Liveness: "imok".
    Ruok,
    /// Set the trace mask (followed by an 8-byte big-endian long).
    Stmk,
    /// Reset server statistics.
    Srst,
    /// Server details.
    Srvr,
    /// Server details plus brief connection list.
    Stat,
    /// Watches by session.
    Wchc,
    /// Watches by path.
    Wchp,
    /// Watch summary.
    Wchs,
    /// Monitoring key/value pairs.
    Mntr,
    /// Read-only check: "ro" or "rw".
    Isro,
    /// Tree-digest history.
    Hash,
    /// The bytes telnet sends when it closes (IAC DO TIMING-MARK); known so it can be
    /// ignored instead of read as a frame length.
    TelnetClose,
}

impl FourLetterWord {
    /// Every known word.
    pub const ALL: [FourLetterWord; 19] = [
        FourLetterWord::Conf,
        FourLetterWord::Cons,
        FourLetterWord::Crst,
        FourLetterWord::Dirs,
        FourLetterWord::Dump,
        FourLetterWord::Envi,
        FourLetterWord::Gtmk,
        FourLetterWord::Ruok,
        FourLetterWord::Stmk,
        FourLetterWord::Srst,
        FourLetterWord::Srvr,
        FourLetterWord::Stat,
        FourLetterWord::Wchc,
        FourLetterWord::Wchp,
        FourLetterWord::Wchs,
        FourLetterWord::Mntr,
        FourLetterWord::Isro,
        FourLetterWord::Hash,
        FourLetterWord::TelnetClose,
    ];

    /// The name used in the whitelist and in the refusal text ("telnet close" for the
    /// telnet sequence, as ZooKeeper names it).
    pub fn name(self) -> &'static str {
        match self {
            FourLetterWord::Conf => "conf",
            FourLetterWord::Cons => "cons",
            FourLetterWord::Crst => "crst",
            FourLetterWord::Dirs => "dirs",
            FourLetterWord::Dump => "dump",
            FourLetterWord::Envi => "envi",
            FourLetterWord::Gtmk => "gtmk",
            FourLetterWord::Ruok => "ruok",
            FourLetterWord::Stmk => "stmk",
            FourLetterWord::Srst => "srst",
            FourLetterWord::Srvr => "srvr",
            FourLetterWord::Stat => "stat",
            FourLetterWord::Wchc => "wchc",
            FourLetterWord::Wchp => "wchp",
            FourLetterWord::Wchs => "wchs",
            FourLetterWord::Mntr => "mntr",
            FourLetterWord::Isro => "isro",
            FourLetterWord::Hash => "hash",
            FourLetterWord::TelnetClose => "telnet close",
        }
    }

    /// The 4-byte code as a big-endian u32 (`ByteBuffer.wrap("ruok".getBytes()).getInt()`).
    pub fn code(self) -> u32 {
        match self {
            FourLetterWord::TelnetClose => 0xfff4_fffd,
            word => {
                let b = word.name().as_bytes();
                match b {
                    [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
                    _ => 0,
                }
            }
        }
    }

    /// The word whose code is `code`, or `None` when these bytes start an ordinary frame.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.code() == code)
    }

    /// The word the first 4 bytes of a connection spell, if any.
    pub fn from_prefix(bytes: [u8; 4]) -> Option<Self> {
        Self::from_code(u32::from_be_bytes(bytes))
    }

    /// The word with this (case-sensitive) name, as written in the whitelist.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Bytes the server reads after the word before answering: `stmk` carries the new
    /// trace mask as an 8-byte big-endian long.
    pub fn argument_len(self) -> usize {
        if self == FourLetterWord::Stmk { 8 } else { 0 }
    }

    /// What running the word changes in the server, to be applied before the snapshot is
    /// taken. Resets happen only while serving (otherwise ZooKeeper answers "not currently
    /// serving" and changes nothing); `stmk` applies its argument regardless.
    pub fn effect(self, serving: bool, argument: Option<i64>) -> Option<Effect> {
        match self {
            FourLetterWord::Srst if serving => Some(Effect::ResetServerStats),
            FourLetterWord::Crst if serving => Some(Effect::ResetConnectionStats),
            FourLetterWord::Stmk => argument.map(Effect::SetTraceMask),
            _ => None,
        }
    }

    /// Which lists of the snapshot the word prints, so the core fills only those.
    pub fn detail(self) -> Detail {
        match self {
            FourLetterWord::Cons | FourLetterWord::Stat => Detail {
                connections: true,
                ..Detail::NONE
            },
            FourLetterWord::Dump => Detail {
                connections: true,
                sessions: true,
                ..Detail::NONE
            },
            FourLetterWord::Wchc | FourLetterWord::Wchp | FourLetterWord::Wchs => Detail {
                watches: true,
                ..Detail::NONE
            },
            FourLetterWord::Hash => Detail {
                digests: true,
                ..Detail::NONE
            },
            _ => Detail::NONE,
        }
    }
}

/// A state change an admin command asks for; the core applies it, then renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `srst`: reset server latency, packet counts, client response sizes and the resettable
    /// metrics (mntr counters and summaries; 4lw `srst` also resets the leader's proposal
    /// sizes). Prometheus values are not reset in ZooKeeper either.
    ResetServerStats,
    /// `crst`: reset every connection's packet counts, latencies and last-operation fields
    /// (last op "NA", lcxid/lzxid -1, lresp 0).
    ResetConnectionStats,
    /// `orst`: reset packet counts of the leader's observer connections.
    ResetObserverConnectionStats,
    /// `stmk`: store the new trace mask for `gtmk`.
    SetTraceMask(i64),
}

/// Which expensive lists of [`AdminSnapshot`](super::AdminSnapshot) a command prints.
///
/// Everything else in the snapshot is counters the core keeps anyway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Detail {
    /// [`AdminSnapshot::connections`](super::AdminSnapshot::connections).
    pub connections: bool,
    /// [`AdminSnapshot::sessions`](super::AdminSnapshot::sessions).
    pub sessions: bool,
    /// [`AdminSnapshot::watches`](super::AdminSnapshot::watches).
    pub watches: bool,
    /// [`AdminSnapshot::digests`](super::AdminSnapshot::digests).
    pub digests: bool,
}

impl Detail {
    /// No lists needed.
    pub const NONE: Detail = Detail {
        connections: false,
        sessions: false,
        watches: false,
        digests: false,
    };
}

/// The set of words this member answers, from `4lw.commands.whitelist`.
///
/// Semantics of `FourLetterCommands.isEnabled`: the value is split on ',' and each entry
/// trimmed; `*` enables every known word (including "telnet close"); unknown names are
/// ignored; `srvr` is always enabled (zkServer.sh needs it), and `isro` too when
/// `readonlymode.enabled` is true. An absent or empty value leaves only those.
/// Entries are not split on spaces: "ruok srvr" is one (unknown) name, as in ZooKeeper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Whitelist {
    allowed: Vec<FourLetterWord>,
}

impl Default for Whitelist {
    fn default() -> Self {
        Whitelist::from_config(None, false)
    }
}

impl Whitelist {
    /// Builds the whitelist from the `4lw.commands.whitelist` value (or `None` if unset) and
    /// `readonlymode.enabled`.
    pub fn from_config(value: Option<&str>, read_only_mode_enabled: bool) -> Self {
        let mut allowed = Vec::new();
        for entry in value.unwrap_or("").split(',').map(str::trim) {
            if entry == "*" {
                allowed = FourLetterWord::ALL.to_vec();
                break;
            }
            if let Some(word) = FourLetterWord::from_name(entry) {
                allowed.push(word);
            }
        }
        if read_only_mode_enabled {
            allowed.push(FourLetterWord::Isro);
        }
        allowed.push(FourLetterWord::Srvr);
        allowed.sort_by_key(|w| w.code());
        allowed.dedup();
        Whitelist { allowed }
    }

    /// Entries of a whitelist value that name no known word, for a startup warning.
    pub fn unknown_entries(value: &str) -> Vec<&str> {
        value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty() && *e != "*" && FourLetterWord::from_name(e).is_none())
            .collect()
    }

    /// Whether `word` may run.
    pub fn allows(&self, word: FourLetterWord) -> bool {
        self.allowed.contains(&word)
    }

    /// The enabled words, for logging.
    pub fn words(&self) -> &[FourLetterWord] {
        &self.allowed
    }
}

/// What a new connection's first 4 bytes call for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// Not a four-letter word: the bytes are a frame length; continue with the handshake.
    Frame,
    /// A known word that is not whitelisted: write this text, then close.
    Refuse(String),
    /// Run the word: read [`FourLetterWord::argument_len`] more bytes, apply
    /// [`FourLetterWord::effect`], take a snapshot with [`FourLetterWord::detail`], write
    /// what [`render`](super::text::render) returns (nothing for `telnet close`), close.
    Run(FourLetterWord),
}

/// Classifies a new connection's first 4 bytes, as `NIOServerCnxn.checkFourLetterWord`
/// does: unknown codes are frame lengths, known ones are checked against the whitelist.
pub fn dispatch(prefix: [u8; 4], whitelist: &Whitelist) -> Dispatch {
    match FourLetterWord::from_prefix(prefix) {
        None => Dispatch::Frame,
        Some(word) if !whitelist.allows(word) => Dispatch::Refuse(not_whitelisted(word)),
        Some(word) => Dispatch::Run(word),
    }
}

/// ZooKeeper's exact answer to a word that is not whitelisted (a line, then the connection
/// closes): `ruok is not executed because it is not in the whitelist.`
pub fn not_whitelisted(word: FourLetterWord) -> String {
    format!(
        "{} is not executed because it is not in the whitelist.\n",
        word.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_big_endian_ascii_ints() {
        // Values of FourLetterCommands.*Cmd (ByteBuffer.wrap(name.getBytes()).getInt()).
        assert_eq!(FourLetterWord::Ruok.code(), 0x7275_6f6b);
        assert_eq!(FourLetterWord::Srvr.code(), 0x7372_7672);
        assert_eq!(FourLetterWord::Mntr.code(), 0x6d6e_7472);
        assert_eq!(FourLetterWord::Stat.code(), 1_937_006_964);
        assert_eq!(FourLetterWord::TelnetClose.code(), 0xfff4_fffd);
        for w in FourLetterWord::ALL {
            assert_eq!(FourLetterWord::from_code(w.code()), Some(w));
            assert_eq!(FourLetterWord::from_name(w.name()), Some(w));
        }
    }

    #[test]
    fn prefix_sniffing_tells_words_from_frames() {
        assert_eq!(
            FourLetterWord::from_prefix(*b"ruok"),
            Some(FourLetterWord::Ruok)
        );
        assert_eq!(
            FourLetterWord::from_prefix(*b"isro"),
            Some(FourLetterWord::Isro)
        );
        assert_eq!(
            FourLetterWord::from_prefix([0xff, 0xf4, 0xff, 0xfd]),
            Some(FourLetterWord::TelnetClose)
        );
        // A ConnectRequest frame starts with a small length (44 or 45).
        assert_eq!(FourLetterWord::from_prefix([0, 0, 0, 45]), None);
        // Words are case-sensitive.
        assert_eq!(FourLetterWord::from_prefix(*b"RUOK"), None);
        assert_eq!(FourLetterWord::from_prefix(*b"xyzw"), None);
        assert_eq!(FourLetterWord::from_name("RUOK"), None);
    }

    #[test]
    fn only_stmk_takes_an_argument() {
        for w in FourLetterWord::ALL {
            let expected = if w == FourLetterWord::Stmk { 8 } else { 0 };
            assert_eq!(w.argument_len(), expected);
        }
    }

    #[test]
    fn default_whitelist_is_srvr_only() {
        let w = Whitelist::default();
        assert_eq!(w.words(), &[FourLetterWord::Srvr]);
        assert!(!w.allows(FourLetterWord::Ruok));
        assert!(!w.allows(FourLetterWord::Isro));
        assert_eq!(Whitelist::from_config(Some(""), false), w);
        assert_eq!(Whitelist::from_config(Some(" , "), false), w);
    }

    #[test]
    fn read_only_mode_adds_isro() {
        let w = Whitelist::from_config(None, true);
        assert!(w.allows(FourLetterWord::Isro));
        assert!(w.allows(FourLetterWord::Srvr));
        assert!(!w.allows(FourLetterWord::Ruok));
    }

    #[test]
    fn star_enables_everything_including_telnet_close() {
        let w = Whitelist::from_config(Some("ruok, *"), false);
        for word in FourLetterWord::ALL {
            assert!(w.allows(word), "{word:?}");
        }
    }

    #[test]
    fn comma_list_is_trimmed_and_case_sensitive() {
        let w = Whitelist::from_config(Some("stat, ruok ,conf,isro,MNTR,bogus"), false);
        for word in [
            FourLetterWord::Stat,
            FourLetterWord::Ruok,
            FourLetterWord::Conf,
            FourLetterWord::Isro,
            FourLetterWord::Srvr,
        ] {
            assert!(w.allows(word), "{word:?}");
        }
        assert!(!w.allows(FourLetterWord::Mntr));
        assert!(!w.allows(FourLetterWord::Dump));
        assert_eq!(
            Whitelist::unknown_entries("stat, ruok ,MNTR,bogus,*"),
            vec!["MNTR", "bogus"]
        );
    }

    #[test]
    fn space_is_not_a_separator() {
        let w = Whitelist::from_config(Some("ruok mntr"), false);
        assert!(!w.allows(FourLetterWord::Ruok));
        assert!(!w.allows(FourLetterWord::Mntr));
    }

    #[test]
    fn refusal_text_is_zookeepers() {
        // NIOServerCnxn.checkFourLetterWord via NopCommand.println.
        assert_eq!(
            not_whitelisted(FourLetterWord::Ruok),
            "ruok is not executed because it is not in the whitelist.\n"
        );
        assert_eq!(
            not_whitelisted(FourLetterWord::TelnetClose),
            "telnet close is not executed because it is not in the whitelist.\n"
        );
    }

    #[test]
    fn dispatch_sorts_frames_refusals_and_words() {
        let default = Whitelist::default();
        assert_eq!(dispatch([0, 0, 0, 44], &default), Dispatch::Frame);
        assert_eq!(
            dispatch(*b"srvr", &default),
            Dispatch::Run(FourLetterWord::Srvr)
        );
        assert_eq!(
            dispatch(*b"mntr", &default),
            Dispatch::Refuse("mntr is not executed because it is not in the whitelist.\n".into())
        );
        let all = Whitelist::from_config(Some("*"), false);
        assert_eq!(
            dispatch(*b"mntr", &all),
            Dispatch::Run(FourLetterWord::Mntr)
        );
        assert_eq!(
            dispatch([0xff, 0xf4, 0xff, 0xfd], &all),
            Dispatch::Run(FourLetterWord::TelnetClose)
        );
    }

    #[test]
    fn effects_respect_serving_state() {
        assert_eq!(
            FourLetterWord::Srst.effect(true, None),
            Some(Effect::ResetServerStats)
        );
        assert_eq!(FourLetterWord::Srst.effect(false, None), None);
        assert_eq!(
            FourLetterWord::Crst.effect(true, None),
            Some(Effect::ResetConnectionStats)
        );
        assert_eq!(
            FourLetterWord::Stmk.effect(false, Some(250)),
            Some(Effect::SetTraceMask(250))
        );
        assert_eq!(FourLetterWord::Mntr.effect(true, None), None);
    }

    #[test]
    fn detail_asks_only_for_printed_lists() {
        assert_eq!(FourLetterWord::Mntr.detail(), Detail::NONE);
        assert!(FourLetterWord::Cons.detail().connections);
        assert!(FourLetterWord::Dump.detail().sessions);
        assert!(FourLetterWord::Wchp.detail().watches);
    }
}
