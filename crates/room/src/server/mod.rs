//! The room's server: `make room` runs it on the instructor's laptop or a login node. It keeps
//! the results in SQLite ([`store`]), computes the instructor's page from them ([`view`]) and
//! serves the learners' posts and the page over HTTP ([`routes`]).
//!
//! It prints exactly two lines, the learners' address and the instructor's, and nothing else on
//! its standard output.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

pub mod routes;
pub mod store;
pub mod view;

use store::Store;
use view::PlanPart;

/// How `make room` runs the server.
#[derive(Debug, Clone)]
pub struct Options {
    pub db: PathBuf,
    /// The address to listen on: every interface by default.
    pub bind: IpAddr,
    /// 0: any free port.
    pub port: u16,
    /// The host name or address printed in the two addresses (what learners can reach); found
    /// from the machine's own address when not given.
    pub host: Option<String>,
    pub exercises: Vec<String>,
    pub plan: Vec<PlanPart>,
    /// A failure counts among the causes "right now" for this long.
    pub recent: Duration,
    pub max_learners: usize,
    /// Requests a second one address may make (a room behind one address, or on one login
    /// node, posts from one address: keep it well above the room's own rate).
    pub per_address: NonZeroU32,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The address learners can reach this machine by: the one its default route leaves from
/// (a UDP socket "connected" to a documentation address sends nothing), else loopback.
fn reachable_host(bind: IpAddr) -> String {
    if !bind.is_unspecified() {
        return bind.to_string();
    }
    let found = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).map(|()| s))
        .and_then(|s| s.local_addr());
    match found {
        Ok(addr) if !addr.ip().is_unspecified() => addr.ip().to_string(),
        _ => Ipv4Addr::LOCALHOST.to_string(),
    }
}

/// `host:port` for a URL (an IPv6 address in brackets).
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Opens the room, prints its two addresses to `out`, and serves until SIGINT or SIGTERM.
pub async fn serve(options: Options, out: &mut dyn Write) -> Result<()> {
    let store = Store::open(&options.db)
        .with_context(|| format!("cannot open the room's database {}", options.db.display()))?;
    let keys = store.keys(now())?;
    let listener = tokio::net::TcpListener::bind((options.bind, options.port))
        .await
        .with_context(|| format!("cannot listen on port {}", options.port))?;
    let port = listener.local_addr()?.port();
    let host = options
        .host
        .clone()
        .unwrap_or_else(|| reachable_host(options.bind));
    let at = authority(&host, port);
    writeln!(out, "learners: ROOM=http://{at}/r/{}", keys.code)?;
    writeln!(out, "instructor: http://{at}/i/{}", keys.token)?;
    out.flush()?;
    let (app, shutdown) = routes::Inner::new(Arc::new(store), keys, &options);
    let router = routes::router(app.clone());
    let stop = async move {
        wait_for_signal().await;
        // The page's live streams never end by themselves: end them, then give requests in
        // flight a moment (anything acknowledged is committed already).
        let _ = shutdown.send(true);
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            std::process::exit(0);
        });
    };
    tokio::spawn(routes::forget_quiet_addresses(app));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
    .context("the room's server stopped")
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The parts of the deck's plan (the same one `make slides` writes into workshop/src/plan.md).
pub fn plan_from_deck(deck_text: &str, length: deck::plan::Length) -> Result<Vec<PlanPart>> {
    let deck = deck::template::parse(deck_text)?;
    Ok(deck::plan::parts(&deck, length)
        .into_iter()
        .map(|p| PlanPart {
            start: p.start,
            end: p.end(),
            name: p.name,
            exercises: p.exercises,
        })
        .collect())
}

/// Every exercise the grader grades, in the workshop's order: the steps' then the capstones.
pub fn exercises() -> Vec<String> {
    grader::exercise::Exercise::all()
        .iter()
        .map(|e| e.name().to_owned())
        .collect()
}
