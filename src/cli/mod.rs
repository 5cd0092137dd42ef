//! `zk cli`: a zkCli-compatible shell built on the `zookeeper-client` crate.
//!
//! People and scripts already know zkCli, so commands, flags, output and error text follow
//! ZooKeeper 3.9's `zkCli.sh`. Differences, all deliberate:
//! - `--server`, `--timeout` (ms) and `-r`/`--readonly`; zkCli's `-server h:p -timeout ms -r`
//!   are accepted too when given before the command.
//! - One-shot mode (`zk cli ls /`) prints only the command's output: no "Connecting to ..." line
//!   and no connection `WATCHER::` event, so the output can be piped.
//! - When stdin is not a terminal the shell prints no banner, no prompt and no session events,
//!   only each command's output (and watch events set with `-w`), so `zk cli < script` output
//!   is clean. On a terminal it prints the banner, the `[zk: host(STATE) n] ` prompt and session
//!   events as zkCli does.
//! - Times print in UTC; option-parser errors print without Java class names; `help` prints the
//!   command list to stdout; `version` prints this crate's version.
//! - A command with no session prints `Not connected` (as zkCli) and sets exit code 1 (zkCli:
//!   0), so a script run against an unreachable server fails.
//! - `create` without data sends empty data (the client crate cannot send a null buffer), so a
//!   later `get` prints an empty line where zkCli would print `null`.

mod acl;
mod client_config;
mod command;
mod error;
mod exec;
mod format;
mod hexdump;
mod launch;
mod options;
mod output;
mod path;
mod session;
mod shell;
mod tokenize;
mod usage;

pub use acl::{AclEntry, ParsedAcl, format_acl_entry, parse_acl, perm_string};
pub use command::{Command, ParsedCommand, parse_command};
pub use error::CliError;
pub use tokenize::tokenize;

use std::io::IsTerminal;
use std::time::Duration;

/// Arguments of `zk cli`.
#[derive(clap::Args, Debug)]
pub struct CliArgs {
    /// Connect string, as zkCli's -server: host:port[,host:port...][/chroot].
    #[arg(long = "server", default_value = "127.0.0.1:2181")]
    pub server: String,
    /// Session timeout in milliseconds, as zkCli's -timeout; also bounds the initial connect.
    #[arg(long, default_value_t = 30_000)]
    pub timeout: u64,
    /// Allow a read-only session when only a read-only server is reachable (zkCli's -r).
    #[arg(short = 'r', long)]
    pub readonly: bool,
    /// A command to run instead of the interactive shell, e.g. `ls -s /`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Runs one command or the interactive shell; exits the process with zkCli's exit code.
pub fn run(args: CliArgs) -> anyhow::Result<()> {
    let launch = launch::split_launch_options(&args.command).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let settings = session::Settings {
        server: launch.server.unwrap_or(args.server),
        timeout: Duration::from_millis(launch.timeout_ms.unwrap_or(args.timeout)),
        readonly: args.readonly || launch.readonly,
    };
    let command = launch.command;
    let code = runtime.block_on(async move {
        if command.is_empty() {
            shell::interactive(settings, std::io::stdin().is_terminal()).await
        } else {
            shell::one_shot(settings, command).await
        }
    })?;
    drop(runtime);
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}
