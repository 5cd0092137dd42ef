//! Option parsing with the rules of Apache commons-cli's `DefaultParser`, which zkCli uses.
//!
//! Flags may appear anywhere among the words (`set /a data -v 3`), may be bundled (`-es`), a
//! value may be attached (`-t1000`) or follow (`-v 3`, and `-v -1` since negative numbers are
//! values), and `--` ends option parsing. Matching these rules keeps scripts written for zkCli
//! working.

use thiserror::Error;

/// One single-letter option a command accepts.
#[derive(Clone, Copy, Debug)]
pub struct OptSpec {
    /// The letter after `-`.
    pub name: char,
    /// Whether the option takes a value (`-v version`).
    pub takes_value: bool,
}

/// A flag without a value.
pub const fn flag(name: char) -> OptSpec {
    OptSpec {
        name,
        takes_value: false,
    }
}

/// An option with a value.
pub const fn valued(name: char) -> OptSpec {
    OptSpec {
        name,
        takes_value: true,
    }
}

/// Why a word list could not be parsed; the text is commons-cli's.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OptionsError {
    /// A word starting with `-` that names no option.
    #[error("Unrecognized option: {0}")]
    Unrecognized(String),
    /// An option that takes a value was given none.
    #[error("Missing argument for option: {0}")]
    MissingArgument(char),
}

/// The result of parsing: options in the order given and the remaining words.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    options: Vec<(char, Option<String>)>,
    /// Words that are not options, the command name first.
    pub args: Vec<String>,
}

impl Parsed {
    /// Whether the option was given.
    pub fn has(&self, name: char) -> bool {
        self.options.iter().any(|(n, _)| *n == name)
    }

    /// The value of the first occurrence of the option, as commons-cli's `getOptionValue`.
    pub fn value(&self, name: char) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

struct Parser<'a> {
    specs: &'a [OptSpec],
    parsed: Parsed,
    /// Index into `parsed.options` of an option still waiting for its value.
    pending: Option<usize>,
}

impl Parser<'_> {
    fn spec(&self, name: char) -> Option<OptSpec> {
        self.specs.iter().copied().find(|s| s.name == name)
    }

    fn single_char(s: &str) -> Option<char> {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }

    /// commons-cli's `isShortOption`: `-S`, `-SV`, `-S=V` or bundled flags.
    fn looks_like_option(&self, token: &str) -> bool {
        let Some(rest) = token.strip_prefix('-') else {
            return false;
        };
        let name = rest.split('=').next().unwrap_or_default();
        match name.chars().next() {
            Some(c) => self.spec(c).is_some(),
            None => false,
        }
    }

    fn is_value(&self, token: &str) -> bool {
        !self.looks_like_option(token) || token.parse::<f64>().is_ok()
    }

    fn check_pending(&self) -> Result<(), OptionsError> {
        match self.pending {
            Some(i) => Err(OptionsError::MissingArgument(self.parsed.options[i].0)),
            None => Ok(()),
        }
    }

    fn add_option(&mut self, spec: OptSpec) -> Result<(), OptionsError> {
        self.check_pending()?;
        self.parsed.options.push((spec.name, None));
        if spec.takes_value {
            self.pending = Some(self.parsed.options.len() - 1);
        }
        Ok(())
    }

    fn set_value(&mut self, value: String) {
        if let Some(i) = self.pending.take() {
            self.parsed.options[i].1 = Some(value);
        }
    }

    fn short_option(&mut self, token: &str) -> Result<(), OptionsError> {
        let body = &token[1..];
        let unrecognized = || OptionsError::Unrecognized(token.to_string());
        if let Some((name, value)) = body.split_once('=') {
            // -S=V
            let spec = Self::single_char(name)
                .and_then(|c| self.spec(c))
                .ok_or_else(unrecognized)?;
            if !spec.takes_value {
                return Err(unrecognized());
            }
            self.add_option(spec)?;
            self.set_value(value.to_string());
            return Ok(());
        }
        // -S, or bundled -S1S2 / -SV
        for (i, c) in body.char_indices() {
            let spec = self.spec(c).ok_or_else(unrecognized)?;
            self.add_option(spec)?;
            let rest = &body[i + c.len_utf8()..];
            if spec.takes_value && !rest.is_empty() {
                self.set_value(rest.to_string());
                break;
            }
        }
        Ok(())
    }
}

/// commons-cli strips one pair of double quotes around an option value given as its own word.
fn strip_double_quotes(token: &str) -> String {
    match token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner.to_string(),
        _ => token.to_string(),
    }
}

/// Parses `words` (the command name first) against the options a command accepts.
pub fn parse(specs: &[OptSpec], words: &[String]) -> Result<Parsed, OptionsError> {
    let mut parser = Parser {
        specs,
        parsed: Parsed::default(),
        pending: None,
    };
    let mut only_args = false;
    for word in words {
        if only_args {
            parser.parsed.args.push(word.clone());
        } else if word == "--" {
            only_args = true;
        } else if parser.pending.is_some() && parser.is_value(word) {
            parser.set_value(strip_double_quotes(word));
        } else if word.starts_with("--") {
            return Err(OptionsError::Unrecognized(word.clone()));
        } else if word.starts_with('-') && word.len() > 1 {
            parser.short_option(word)?;
        } else {
            parser.parsed.args.push(word.clone());
        }
    }
    parser.check_pending()?;
    Ok(parser.parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptSpec] = &[flag('s'), flag('e'), valued('t'), valued('v')];

    fn p(line: &str) -> Result<Parsed, OptionsError> {
        let words: Vec<String> = line.split(' ').map(String::from).collect();
        parse(SPECS, &words)
    }

    #[test]
    fn flags_anywhere() {
        let parsed = p("set /a data -s -v 3").unwrap();
        assert_eq!(parsed.args, ["set", "/a", "data"]);
        assert!(parsed.has('s'));
        assert_eq!(parsed.value('v'), Some("3"));
        assert!(!parsed.has('e'));
    }

    #[test]
    fn bundled_and_attached() {
        let parsed = p("create -se /a").unwrap();
        assert!(parsed.has('s') && parsed.has('e'));
        let parsed = p("create -t1000 /a").unwrap();
        assert_eq!(parsed.value('t'), Some("1000"));
        let parsed = p("create -st1000 /a").unwrap();
        assert!(parsed.has('s'));
        assert_eq!(parsed.value('t'), Some("1000"));
        let parsed = p("create -t=5 /a").unwrap();
        assert_eq!(parsed.value('t'), Some("5"));
    }

    #[test]
    fn negative_number_is_a_value() {
        assert_eq!(p("delete -v -1 /a").unwrap().value('v'), Some("-1"));
    }

    #[test]
    fn unknown_and_missing() {
        assert_eq!(p("get -z /a"), Err(OptionsError::Unrecognized("-z".into())));
        assert_eq!(
            p("get -sz /a"),
            Err(OptionsError::Unrecognized("-sz".into()))
        );
        assert_eq!(
            p("get --long /a"),
            Err(OptionsError::Unrecognized("--long".into()))
        );
        assert_eq!(p("delete -v"), Err(OptionsError::MissingArgument('v')));
        assert_eq!(
            p("create -t -s /a"),
            Err(OptionsError::MissingArgument('t'))
        );
        assert_eq!(p("set /a -1"), Err(OptionsError::Unrecognized("-1".into())));
        assert_eq!(
            p("set -s=1 /a"),
            Err(OptionsError::Unrecognized("-s=1".into()))
        );
    }

    #[test]
    fn double_dash_ends_options() {
        let parsed = p("set /a -- -1").unwrap();
        assert_eq!(parsed.args, ["set", "/a", "-1"]);
    }

    #[test]
    fn lone_dash_is_an_argument() {
        assert_eq!(p("set /a -").unwrap().args, ["set", "/a", "-"]);
    }

    #[test]
    fn quoted_value_is_unquoted() {
        let words = vec![
            "delete".to_string(),
            "-v".into(),
            "\"4\"".into(),
            "/a".into(),
        ];
        assert_eq!(parse(SPECS, &words).unwrap().value('v'), Some("4"));
    }

    #[test]
    fn first_occurrence_wins() {
        assert_eq!(p("delete -v 1 -v 2 /a").unwrap().value('v'), Some("1"));
    }
}
