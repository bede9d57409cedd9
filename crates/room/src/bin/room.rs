//! `room serve` (`make room`): the room's server, printing the learners' and the instructor's
//! addresses. `room export` (`make room-export`): every result as CSV, read straight from the
//! database (with the server running or not).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use room::server::{self, store::Store, Options};

#[derive(Parser)]
#[command(about = "The room at a glance: learners' verdicts, live, on the instructor's page")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Plan {
    /// The three-hour plan (each slide's `min:`)
    ThreeHours,
    /// The full day (each slide's `day:`, with a lunch)
    Day,
}

#[derive(Subcommand)]
enum Command {
    /// Start the room's server; print the learners' and the instructor's addresses
    Serve {
        /// The room's database: results, code, token and clock are kept there across restarts
        #[arg(long)]
        db: PathBuf,
        /// The port (0: any free one)
        #[arg(long, default_value_t = 8737)]
        port: u16,
        /// The address to listen on
        #[arg(long, default_value = "0.0.0.0")]
        bind: IpAddr,
        /// The host name or address learners reach this machine by (default: its own address)
        #[arg(long)]
        host: Option<String>,
        /// The deck whose minutes make the plan
        #[arg(long, default_value = "workshop/slides/deck.md")]
        deck: PathBuf,
        #[arg(long, value_enum, default_value = "three-hours")]
        plan: Plan,
        /// A failure counts among the causes "right now" for this many minutes
        #[arg(long, default_value_t = 15)]
        recent_minutes: u64,
        /// The most learners the room takes
        #[arg(long, default_value_t = 300)]
        max_learners: usize,
        /// The most requests a second from one address
        #[arg(long, default_value_t = NonZeroU32::new(100).expect("not zero"))]
        per_address: NonZeroU32,
    },
    /// Write every result as CSV
    Export {
        #[arg(long)]
        db: PathBuf,
        /// The CSV file (whole or not at all)
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("room: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            db,
            port,
            bind,
            host,
            deck,
            plan,
            recent_minutes,
            max_learners,
            per_address,
        } => {
            let text = std::fs::read_to_string(&deck)
                .with_context(|| format!("cannot read the plan's deck {}", deck.display()))?;
            let length = match plan {
                Plan::ThreeHours => deck::plan::Length::ThreeHours,
                Plan::Day => deck::plan::Length::FullDay,
            };
            let options = Options {
                db,
                bind,
                port,
                host,
                exercises: server::exercises(),
                plan: server::plan_from_deck(&text, length)
                    .with_context(|| format!("the plan's deck {}", deck.display()))?,
                recent: Duration::from_secs(recent_minutes * 60),
                max_learners,
                per_address,
            };
            if let Some(dir) = options.db.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot make {}", dir.display()))?;
            }
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(server::serve(options, &mut std::io::stdout()))
        }
        Command::Export { db, out } => {
            let store = Store::open_read_only(&db)
                .with_context(|| format!("cannot open the room's database {}", db.display()))?;
            let mut csv = Vec::new();
            let n = store.export(&mut csv)?;
            room::files::write_whole(&out, &csv)
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!("room-export: {n} results into {}", out.display());
            Ok(())
        }
    }
}
