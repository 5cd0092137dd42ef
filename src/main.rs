//! The `zk` binary: argument parsing and dispatch only; every job lives in the library.

use clap::{Parser, Subcommand};

/// The server allocates and frees small buffers for every request, log entry and reply across
/// its threads; mimalloc spends about half the CPU of glibc's allocator on that (measured with
/// `perf` on an ensemble under `zk bench --workload create-delete`, docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "zk",
    version,
    about = "ZooKeeper-compatible coordination server and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a ZooKeeper-compatible server (standalone unless zoo.cfg lists servers).
    Server(zk::server::ServerArgs),
    /// A zkCli-compatible shell.
    Cli(zk::cli::CliArgs),
    /// A load generator for any ZooKeeper-compatible server.
    Bench(zk::bench::BenchArgs),
    /// Run the Kubernetes operator that reconciles ZooKeeperEnsembles.
    Operator(zk::operator::run::OperatorArgs),
    /// Print the ZooKeeperEnsemble CustomResourceDefinition (YAML).
    Crd(zk::operator::crdgen::CrdArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => zk::server::run(args),
        Command::Cli(args) => zk::cli::run(args),
        Command::Bench(args) => zk::bench::run(args),
        Command::Operator(args) => zk::operator::run::run(args),
        Command::Crd(args) => zk::operator::crdgen::run(args),
    }
}
