//! The room's HTTP side. Learners post to `/r/CODE`; the instructor's page and what it reads
//! live under `/i/TOKEN/`. Anything else, a wrong code or token, a body too large, JSON that is
//! not a batch of results, a field that breaks its rule, or more requests from one address than
//! a room makes, gets a 4xx with a one-line reason, and changes nothing.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::Stream;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;

use super::store::{Keys, Refused, Store};
use super::view::{self, PlanPart, Setting, View};
use super::{now, Options};
use crate::report::{Batch, Stored, BODY_MAX};

const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/page.js");
const STYLE: &str = include_str!("page/page.css");

/// A burst of posts redraws the page once.
const GATHER: Duration = Duration::from_secs(1);
/// The page is redrawn at least this often (its minute, what counts as "right now").
const REFRESH: Duration = Duration::from_secs(20);

/// What every request shares.
pub struct Inner {
    store: Arc<Store>,
    code: String,
    token: String,
    clock: AtomicU64,
    exercises: Vec<String>,
    known: HashSet<String>,
    plan: Vec<PlanPart>,
    recent: Duration,
    max_learners: usize,
    per_address: u32,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Bumped after every commit: the pages' streams wait on it.
    changed: watch::Sender<u64>,
    /// Set when the server stops: the streams end.
    stopping: watch::Receiver<bool>,
}

pub type App = Arc<Inner>;

/// Why a request is refused, and its one-line reason.
#[derive(Debug)]
pub enum Reject {
    WrongCode,
    WrongToken,
    TooLarge,
    NotABatch(String),
    Invalid(String),
    Full(String),
    Flood(IpAddr, u32),
    Internal(String),
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Reject::WrongCode => (
                StatusCode::FORBIDDEN,
                "not this room's code: ROOM is the learners' line that make room printed".to_owned(),
            ),
            Reject::WrongToken => (
                StatusCode::FORBIDDEN,
                "not this room's token: the page is at the instructor's line that make room printed".to_owned(),
            ),
            Reject::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than the {BODY_MAX} bytes a post may have"),
            ),
            Reject::NotABatch(why) => (
                StatusCode::BAD_REQUEST,
                format!("not a batch of results ({{\"results\": [...]}}): {why}"),
            ),
            Reject::Invalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, why),
            Reject::Full(why) => (StatusCode::CONFLICT, why),
            Reject::Flood(ip, n) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many requests from {ip}: a room makes fewer than {n} a second"),
            ),
            Reject::Internal(why) => {
                eprintln!("room: {why}");
                (StatusCode::INTERNAL_SERVER_ERROR, format!("the room failed: {why}"))
            }
        };
        (status, format!("{message}\n")).into_response()
    }
}

/// Equal, in a time that does not depend on where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

impl Inner {
    /// The shared state, and the switch that stops the pages' streams.
    pub fn new(store: Arc<Store>, keys: Keys, options: &Options) -> (App, watch::Sender<bool>) {
        let (stop, stopping) = watch::channel(false);
        let quota = Quota::per_second(options.per_address).allow_burst(options.per_address);
        let app = Inner {
            store,
            code: keys.code,
            token: keys.token,
            clock: AtomicU64::new(keys.clock),
            known: options.exercises.iter().cloned().collect(),
            exercises: options.exercises.clone(),
            plan: options.plan.clone(),
            recent: options.recent,
            max_learners: options.max_learners,
            per_address: options.per_address.get(),
            limiter: RateLimiter::keyed(quota),
            changed: watch::Sender::new(0),
            stopping,
        };
        (Arc::new(app), stop)
    }

    fn instructor(&self, token: &str) -> Result<(), Reject> {
        same(token, &self.token)
            .then_some(())
            .ok_or(Reject::WrongToken)
    }

    /// What the server knows beyond each field's own rule: the workshop's exercises and the
    /// grader's causes.
    fn known(&self, batch: &Batch) -> Result<(), Reject> {
        for r in &batch.results {
            if !self.known.contains(r.exercise.as_str()) {
                return Err(Reject::Invalid(format!(
                    "exercise: {:?} is not an exercise of this workshop",
                    r.exercise.as_str()
                )));
            }
            if let Some(cause) = &r.cause {
                serde_json::from_value::<grader::verdict::Cause>(cause.as_str().into()).map_err(
                    |_| {
                        Reject::Invalid(format!(
                            "cause: {:?} is not a cause the grader names",
                            cause.as_str()
                        ))
                    },
                )?;
            }
        }
        Ok(())
    }

    async fn view(self: &Arc<Self>) -> Result<View, Reject> {
        let store = self.store.clone();
        let snapshot = tokio::task::spawn_blocking(move || store.snapshot())
            .await
            .map_err(|e| Reject::Internal(e.to_string()))?
            .map_err(|e| Reject::Internal(e.to_string()))?;
        let setting = Setting {
            exercises: &self.exercises,
            plan: &self.plan,
            recent_seconds: self.recent.as_secs(),
            now: now(),
            clock: self.clock.load(Ordering::Relaxed),
        };
        Ok(view::view(&snapshot, &setting))
    }
}

pub fn router(app: App) -> Router {
    Router::new()
        .route("/r/{code}", post(post_results).get(room_open))
        .route("/i/{token}", get(to_page))
        .route("/i/{token}/", get(page))
        .route("/i/{token}/page.js", get(script))
        .route("/i/{token}/page.css", get(style))
        .route("/i/{token}/events", get(events))
        .route("/i/{token}/state", get(state))
        .route("/i/{token}/results.csv", get(results_csv))
        .route("/i/{token}/clock", post(restart_clock))
        .fallback(|| async { (StatusCode::NOT_FOUND, "nothing here\n") })
        .layer(DefaultBodyLimit::max(BODY_MAX))
        .layer(middleware::from_fn_with_state(app.clone(), per_address))
        .layer(middleware::map_response(guarded))
        .with_state(app)
}

/// More requests from one address than a room makes: refused before anything is read.
async fn per_address(
    State(app): State<App>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match app.limiter.check_key(&from.ip()) {
        Ok(()) => next.run(request).await,
        Err(_) => Reject::Flood(from.ip(), app.per_address).into_response(),
    }
}

/// Every answer: no caching (the token is in the address), no referrer (it would carry the
/// token elsewhere), nothing loaded from anywhere but the room itself.
async fn guarded(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Forgets addresses quiet for a while, so that the limiter's memory stays small.
pub async fn forget_quiet_addresses(app: App) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        app.limiter.retain_recent();
        app.limiter.shrink_to_fit();
    }
}

async fn post_results(
    State(app): State<App>,
    Path(code): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<Stored>, Reject> {
    if !same(&code, &app.code) {
        return Err(Reject::WrongCode);
    }
    let body = body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(_) => Reject::TooLarge,
        other => Reject::NotABatch(other.body_text()),
    })?;
    let batch: Batch =
        serde_json::from_slice(&body).map_err(|e| Reject::NotABatch(e.to_string()))?;
    batch.check().map_err(|e| Reject::Invalid(e.to_string()))?;
    app.known(&batch)?;
    let (store, max) = (app.store.clone(), app.max_learners);
    let stored = tokio::task::spawn_blocking(move || store.store(&batch.results, now(), max))
        .await
        .map_err(|e| Reject::Internal(e.to_string()))?
        .map_err(|e| match e {
            Refused::Full(_) => Reject::Full(e.to_string()),
            Refused::Store(e) => Reject::Internal(e.to_string()),
        })?;
    // Committed: only now is the post acknowledged, and the pages told.
    app.changed.send_modify(|n| *n += 1);
    Ok(axum::Json(stored))
}

async fn room_open(State(app): State<App>, Path(code): Path<String>) -> Result<String, Reject> {
    if !same(&code, &app.code) {
        return Err(Reject::WrongCode);
    }
    Ok("This room is open: make verify STEP=… with this address as ROOM sends your results here.\n".to_owned())
}

async fn to_page(State(app): State<App>, Path(token): Path<String>) -> Result<Redirect, Reject> {
    app.instructor(&token)?;
    Ok(Redirect::permanent(&format!("/i/{token}/")))
}

fn file(kind: &'static str, text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], text).into_response()
}

async fn page(State(app): State<App>, Path(token): Path<String>) -> Result<Response, Reject> {
    app.instructor(&token)?;
    Ok(file("text/html; charset=utf-8", PAGE))
}

async fn script(State(app): State<App>, Path(token): Path<String>) -> Result<Response, Reject> {
    app.instructor(&token)?;
    Ok(file("text/javascript; charset=utf-8", SCRIPT))
}

async fn style(State(app): State<App>, Path(token): Path<String>) -> Result<Response, Reject> {
    app.instructor(&token)?;
    Ok(file("text/css; charset=utf-8", STYLE))
}

async fn state(
    State(app): State<App>,
    Path(token): Path<String>,
) -> Result<axum::Json<View>, Reject> {
    app.instructor(&token)?;
    Ok(axum::Json(app.view().await?))
}

async fn results_csv(
    State(app): State<App>,
    Path(token): Path<String>,
) -> Result<Response, Reject> {
    app.instructor(&token)?;
    let store = app.store.clone();
    let csv = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        store.export(&mut out).map(|_| out)
    })
    .await
    .map_err(|e| Reject::Internal(e.to_string()))?
    .map_err(|e| Reject::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"room.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

async fn restart_clock(
    State(app): State<App>,
    Path(token): Path<String>,
) -> Result<StatusCode, Reject> {
    app.instructor(&token)?;
    let (store, at) = (app.store.clone(), now());
    tokio::task::spawn_blocking(move || store.restart_clock(at))
        .await
        .map_err(|e| Reject::Internal(e.to_string()))?
        .map_err(|e| Reject::Internal(e.to_string()))?;
    app.clock.store(at, Ordering::Relaxed);
    app.changed.send_modify(|n| *n += 1);
    Ok(StatusCode::NO_CONTENT)
}

/// The page's live feed: the view now, then again after each change (a burst gathered into
/// one), and at least every 20 s; it ends when the server stops.
async fn events(
    State(app): State<App>,
    Path(token): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Reject> {
    app.instructor(&token)?;
    let changed = app.changed.subscribe();
    let stopping = app.stopping.clone();
    let stream = futures_util::stream::unfold(
        (app, changed, stopping, true),
        |(app, mut changed, mut stopping, first)| async move {
            if *stopping.borrow() {
                return None;
            }
            if !first {
                tokio::select! {
                    moved = changed.changed() => {
                        moved.ok()?;
                        tokio::time::sleep(GATHER).await;
                    }
                    _ = tokio::time::sleep(REFRESH) => {}
                    _ = stopping.changed() => return None,
                }
            }
            changed.borrow_and_update();
            let event = match app.view().await {
                Ok(view) => Event::default()
                    .json_data(view)
                    .unwrap_or_else(|e| Event::default().event("problem").data(e.to_string())),
                Err(e) => Event::default().event("problem").data(format!("{e:?}")),
            };
            Some((Ok(event), (app, changed, stopping, false)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
