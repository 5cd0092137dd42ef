//! The interactive loop and one-shot mode: session handling, history, watch printing.
//!
//! Commands run one at a time on a current-thread runtime; watch events are printed by small
//! tasks that run while the shell waits for the next line, as zkCli's watcher thread does.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use zookeeper_client::{Client, EventType};

use super::command::{Command, ParsedCommand, parse_command};
use super::error::CliError;
use super::exec;
use super::format::{
    format_event, format_session_event, format_watcher_block, prompt, prompt_state,
};
use super::output::{Output, Watch};
use super::session::{self, Settings};
use super::tokenize::tokenize;
use super::usage::usage_listing;

/// Whether the loop goes on after a command.
enum Flow {
    Continue,
    Quit,
}

/// Writes a block to stdout in one piece; output errors (a closed pipe) end nothing.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        tracing::debug!("stdout is closed");
    }
}

fn flush(out: &mut Output) {
    if let Err(e) = out.flush_to_std() {
        tracing::debug!("cannot write output: {e}");
    }
}

/// Adds the text zkCli prints for a failed command: the usage listing for an unknown command,
/// then the error line.
fn report_error(error: &CliError, out: &mut Output) {
    if matches!(error, CliError::CommandNotFound(_))
        || matches!(error, CliError::Malformed(m) if m == "No command entered")
    {
        out.err(usage_listing());
    }
    match error {
        CliError::NotConnected => out.out_line(error.to_string()),
        _ => out.err_line(error.to_string()),
    }
}

/// Prints events of the watches a command left, while the session lasts.
fn spawn_watch_printers(watches: Vec<Watch>, enabled: &Arc<AtomicBool>) {
    for watch in watches {
        let enabled = Arc::clone(enabled);
        match watch {
            Watch::Oneshot(watcher) => {
                tokio::spawn(async move {
                    let event = watcher.changed().await;
                    // Session changes are printed once, by the session printer.
                    if event.event_type != EventType::Session && enabled.load(Ordering::Relaxed) {
                        print_stdout(&format_watcher_block(&format_event(&event)));
                    }
                });
            }
            Watch::Persistent(mut watcher) => {
                tokio::spawn(async move {
                    loop {
                        let event = watcher.changed().await;
                        if event.event_type == EventType::Session {
                            if event.session_state.is_terminated() {
                                break;
                            }
                            continue;
                        }
                        if enabled.load(Ordering::Relaxed) {
                            print_stdout(&format_watcher_block(&format_event(&event)));
                        }
                    }
                });
            }
        }
    }
}

/// Prints session state changes as zkCli's default watcher does.
fn spawn_state_printer(client: &Client, enabled: &Arc<AtomicBool>) {
    let mut states = client.state_watcher();
    let enabled = Arc::clone(enabled);
    tokio::spawn(async move {
        loop {
            let state = states.changed().await;
            if enabled.load(Ordering::Relaxed) {
                print_stdout(&format_watcher_block(&format_session_event(state)));
            }
            if state.is_terminated() {
                break;
            }
        }
    });
}

/// Reads stdin on a thread of its own (reads block) and hands lines to the shell.
fn spawn_line_reader() -> mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match stdin.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).to_string();
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    receiver
}

struct Shell {
    settings: Settings,
    /// Connect string of the current (or last) session, shown in the prompt.
    host: String,
    client: Option<Client>,
    /// Whether stdin is a terminal: decides banner, prompt and session events.
    tty: bool,
    print_watches: Arc<AtomicBool>,
    history: Vec<String>,
    exit_code: i32,
}

impl Shell {
    fn new(settings: Settings, tty: bool) -> Self {
        let host = settings.server.clone();
        Shell {
            settings,
            host,
            client: None,
            tty,
            print_watches: Arc::new(AtomicBool::new(true)),
            history: Vec::new(),
            exit_code: 0,
        }
    }

    async fn disconnect(&mut self) {
        if let Some(client) = self.client.take() {
            session::close(client).await;
        }
    }

    /// Opens a session with `server`, closing the current one first.
    async fn connect_to(&mut self, server: String) -> Result<(), zookeeper_client::Error> {
        self.disconnect().await;
        self.host = server;
        let client = session::connect(&self.settings, &self.host).await?;
        if self.tty {
            if self.print_watches.load(Ordering::Relaxed) {
                print_stdout(&format_watcher_block(&format_session_event(client.state())));
            }
            spawn_state_printer(&client, &self.print_watches);
        }
        self.client = Some(client);
        Ok(())
    }

    fn prompt(&self) -> String {
        let state = self
            .client
            .as_ref()
            .map_or("CLOSED", |c| prompt_state(c.state()));
        prompt(&self.host, state, self.history.len())
    }

    /// Runs one parsed command; shell commands are handled here, the rest by `exec`.
    async fn process(&mut self, parsed: ParsedCommand, out: &mut Output) -> Result<Flow, CliError> {
        for warning in parsed.warnings {
            out.err_line(warning);
        }
        match parsed.command {
            Command::Quit => return Ok(Flow::Quit),
            Command::Help => out.out(usage_listing()),
            Command::Version => {
                out.out_line(format!("zk cli version: {}", env!("CARGO_PKG_VERSION")))
            }
            Command::History => {
                let last = self.history.len().saturating_sub(1);
                for i in last.saturating_sub(10)..=last {
                    if let Some(line) = self.history.get(i) {
                        out.out_line(format!("{i} - {line}"));
                    }
                }
            }
            Command::PrintWatches { on: None } => {
                let state = if self.print_watches.load(Ordering::Relaxed) {
                    "on"
                } else {
                    "off"
                };
                out.out_line(format!("printwatches is {state}"));
            }
            Command::PrintWatches { on: Some(on) } => {
                self.print_watches.store(on, Ordering::Relaxed)
            }
            Command::Close => self.disconnect().await,
            Command::Connect { server } => {
                let server = server.unwrap_or_else(|| self.host.clone());
                if let Err(e) = self.connect_to(server).await {
                    out.err_line(format!("Unable to connect to {}: {e}", self.host));
                }
            }
            Command::Redo { index } => return Box::pin(self.redo(&index, out)).await,
            command => match self.client.as_ref().filter(|c| !c.state().is_terminated()) {
                None => return Err(CliError::NotConnected),
                Some(client) => {
                    let result = exec::run(client, &command, out).await;
                    // `stat -w` of a missing node fails yet leaves a watch for its creation.
                    spawn_watch_printers(std::mem::take(&mut out.watches), &self.print_watches);
                    result?;
                }
            },
        }
        Ok(Flow::Continue)
    }

    /// zkCli's `redo n`: runs history entry `n` again and records it in this line's place.
    async fn redo(&mut self, index: &str, out: &mut Output) -> Result<Flow, CliError> {
        let current = self.history.len().saturating_sub(1);
        let index = index.parse::<usize>().ok().filter(|i| *i < current);
        let Some(line) = index.and_then(|i| self.history.get(i)).cloned() else {
            return Err(CliError::Malformed("Command index out of range".into()));
        };
        let parsed = parse_command(&tokenize(&line))?;
        if matches!(parsed.command, Command::Redo { .. }) {
            return Err(CliError::Malformed("No redoing redos".into()));
        }
        if let Some(slot) = self.history.last_mut() {
            *slot = line;
        }
        self.process(parsed, out).await
    }

    /// Runs one input line; blank lines are skipped and not counted, as in zkCli.
    async fn execute_line(&mut self, line: &str) -> Flow {
        let words = tokenize(line);
        if words.is_empty() {
            return Flow::Continue;
        }
        self.history.push(line.to_string());
        let mut out = Output::default();
        let result = match parse_command(&words) {
            Ok(parsed) => self.process(parsed, &mut out).await,
            Err(e) => Err(e),
        };
        let flow = match result {
            Ok(flow) => {
                self.exit_code = 0;
                flow
            }
            Err(e) => {
                self.exit_code = e.exit_code();
                report_error(&e, &mut out);
                Flow::Continue
            }
        };
        flush(&mut out);
        flow
    }
}

/// The interactive shell: reads commands from stdin until `quit` or end of input.
/// Returns the exit code of the last command, as zkCli does.
pub async fn interactive(settings: Settings, tty: bool) -> anyhow::Result<i32> {
    let mut shell = Shell::new(settings, tty);
    if tty {
        print_stdout(&format!(
            "Connecting to {}\nWelcome to ZooKeeper!\n",
            shell.host
        ));
    }
    let server = shell.host.clone();
    if let Err(e) = shell.connect_to(server).await {
        let mut out = Output::default();
        out.err_line(format!("Unable to connect to {}: {e}", shell.host));
        flush(&mut out);
    }
    let mut lines = spawn_line_reader();
    loop {
        if tty {
            print_stdout(&shell.prompt());
        }
        let Some(line) = lines.recv().await else {
            break;
        };
        if let Flow::Quit = shell.execute_line(&line).await {
            break;
        }
    }
    shell.disconnect().await;
    Ok(shell.exit_code)
}

/// Runs the command given on the command line and returns its exit code.
pub async fn one_shot(settings: Settings, words: Vec<String>) -> anyhow::Result<i32> {
    let mut out = Output::default();
    // Parse before connecting: a usage error needs no server.
    let parsed = match parse_command(&words) {
        Ok(parsed) => parsed,
        Err(e) => {
            report_error(&e, &mut out);
            flush(&mut out);
            return Ok(e.exit_code());
        }
    };
    let needs_server = !matches!(
        parsed.command,
        Command::Help
            | Command::Version
            | Command::Quit
            | Command::History
            | Command::PrintWatches { .. }
    );
    let mut shell = Shell::new(settings, false);
    if needs_server {
        let server = shell.host.clone();
        if let Err(e) = shell.connect_to(server).await {
            out.err_line(format!("Unable to connect to {}: {e}", shell.host));
            flush(&mut out);
            return Ok(1);
        }
    }
    shell.history.push(words.join(" "));
    let code = match shell.process(parsed, &mut out).await {
        Ok(_) => 0,
        Err(e) => {
            report_error(&e, &mut out);
            e.exit_code()
        }
    };
    flush(&mut out);
    shell.disconnect().await;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use zookeeper_client::SessionState;

    use super::*;

    #[test]
    fn unknown_command_prints_listing_then_error() {
        let mut out = Output::default();
        report_error(&CliError::CommandNotFound("foo".into()), &mut out);
        let err = out.text(super::super::output::Stream::Err);
        assert!(err.starts_with("zk cli [--server"));
        assert!(err.ends_with("Command not found: Command not found foo\n"));
    }

    #[test]
    fn session_state_names() {
        assert_eq!(prompt_state(SessionState::Disconnected), "CONNECTING");
    }
}
