//! zkCli's own launch options (`-server host:port -timeout ms -r`) accepted before the command,
//! so `zk cli -server h:p ls /` works for people used to `zkCli.sh -server h:p ls /`.

/// Launch options found before the command words.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LaunchOptions {
    /// `-server host:port`.
    pub server: Option<String>,
    /// `-timeout ms`.
    pub timeout_ms: Option<u64>,
    /// `-r`.
    pub readonly: bool,
    /// The command and its arguments.
    pub command: Vec<String>,
}

/// Splits zkCli-style launch options off the front of `words`, as zkCli's `parseOptions`:
/// the first word not starting with `-` begins the command; other dash words are ignored.
pub fn split_launch_options(words: &[String]) -> Result<LaunchOptions, String> {
    let mut options = LaunchOptions::default();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        let mut value = || {
            iter.next()
                .cloned()
                .ok_or_else(|| format!("Error: no argument found for option {word}"))
        };
        match word.as_str() {
            "-server" => options.server = Some(value()?),
            "-timeout" => {
                let text = value()?;
                options.timeout_ms = Some(
                    text.parse()
                        .map_err(|_| format!("Error: invalid timeout {text}"))?,
                );
            }
            "-r" => options.readonly = true,
            "-client-configuration" => {
                value()?;
            }
            w if w.starts_with('-') => {}
            _ => {
                options.command.push(word.clone());
                options.command.extend(iter.cloned());
                break;
            }
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn zkcli_style_options() {
        let o = split_launch_options(&words("-server h:1 -timeout 5000 -r ls -s /")).unwrap();
        assert_eq!(o.server.as_deref(), Some("h:1"));
        assert_eq!(o.timeout_ms, Some(5000));
        assert!(o.readonly);
        assert_eq!(o.command, words("ls -s /"));
    }

    #[test]
    fn plain_command_untouched() {
        let o = split_launch_options(&words("create -e /a x")).unwrap();
        assert_eq!(
            o,
            LaunchOptions {
                command: words("create -e /a x"),
                ..Default::default()
            }
        );
    }

    #[test]
    fn options_only_means_interactive() {
        let o = split_launch_options(&words("-server h:1 -waitforconnection")).unwrap();
        assert!(o.command.is_empty());
    }

    #[test]
    fn missing_value() {
        assert_eq!(
            split_launch_options(&words("-server")).unwrap_err(),
            "Error: no argument found for option -server"
        );
    }
}
