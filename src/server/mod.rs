//! The server: connections, sessions, request pipeline, watches and admin endpoints.

pub mod fourlw;

/// Arguments of `zk server`.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// A ZooKeeper zoo.cfg file.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}

/// Runs the server until SIGTERM/SIGINT.
pub fn run(_args: ServerArgs) -> anyhow::Result<()> {
    anyhow::bail!("being written")
}
