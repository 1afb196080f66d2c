//! Serving a router over HTTP/1.1 with the limits of `config.limits`: our own accept loop on
//! hyper, so that every connection is bounded (time to send a request head, head size,
//! write stalls, how many at once) and shutdown has a deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::conn::{EdgeIo, refuse_busy};
use super::{ClientAddr, client_ip, edge};
use crate::config::Limits;

/// After the grace period, how long cut-off work (a conversion putting its job back in the
/// queue) may take before the connections are dropped.
const AFTER_DEADLINE: Duration = Duration::from_secs(5);

/// Connections over the cap being answered 503 at once; past this they are just closed.
const REFUSING_AT_ONCE: usize = 64;

/// Serves `router` (with the [`edge`](super::edge) around it) on `listener` until
/// `shutdown` completes. Then it stops accepting and lets in-flight requests finish for
/// `limits.shutdown_grace`; at that deadline `stopping` is cancelled (long work re-queues
/// itself), and [`AFTER_DEADLINE`] later every connection still open is dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    stopping: CancellationToken,
) -> std::io::Result<()> {
    let edge = Edge {
        router: edge::router(router, limits),
        http: Arc::new(http_builder(limits)),
        hops: limits.trusted_proxy_hops,
        write_timeout: limits.write_timeout,
        draining: CancellationToken::new(),
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        accept_failed(e).await;
                        continue;
                    }
                };
                match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        connections.spawn(edge.clone().connection(stream, peer, permit));
                    }
                    Err(_) => {
                        if let Ok(permit) = refusing.clone().try_acquire_owned() {
                            tracing::warn!(%peer, max = limits.max_connections, "connection cap reached: refusing");
                            tokio::spawn(refuse_busy(stream, limits.max_connections, permit));
                        }
                    }
                }
            }
        }
    }
    drop(listener);
    edge.draining.cancel();
    if tokio::time::timeout(limits.shutdown_grace, drain(&mut connections)).await.is_err() {
        tracing::warn!(
            grace_secs = limits.shutdown_grace.as_secs(),
            open = connections.len(),
            "shutdown grace period over: cutting off what is still running"
        );
        stopping.cancel();
        if tokio::time::timeout(AFTER_DEADLINE, drain(&mut connections)).await.is_err() {
            tracing::warn!(open = connections.len(), "dropping the connections still open");
            connections.shutdown().await;
        }
    }
    stopping.cancel();
    Ok(())
}

fn http_builder(limits: &Limits) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // The hard stop for request heads (hyper answers an empty 431 past it); heads over
        // `max_header_bytes` but within it get the JSON 431 of `edge`.
        .max_buf_size(hard_head_limit(limits.max_header_bytes));
    http
}

/// hyper's buffer limit: room for a head well past the limit (to answer it in JSON), and
/// hyper's minimum of 8 KiB.
fn hard_head_limit(max_header_bytes: usize) -> usize {
    max_header_bytes.saturating_mul(2).max(64 * 1024)
}

async fn drain(connections: &mut JoinSet<()>) {
    while connections.join_next().await.is_some() {}
}

/// Errors of one connection (the client went away before we accepted it) are not the
/// listener's; others (out of file descriptors) pass with time.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(e.kind(), ConnectionAborted | ConnectionReset | ConnectionRefused) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// What every connection shares.
#[derive(Clone)]
struct Edge {
    router: Router,
    http: Arc<http1::Builder>,
    hops: usize,
    write_timeout: Duration,
    /// Cancelled at shutdown: connections finish their request and close.
    draining: CancellationToken,
}

impl Edge {
    async fn connection(self, stream: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit) {
        let io = TokioIo::new(EdgeIo::new(stream, self.write_timeout, Some(permit)));
        let (router, hops) = (self.router, self.hops);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            let client = ClientAddr(Some(client_ip(peer.ip(), request.headers(), hops)));
            request.extensions_mut().insert(client);
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = self.http.serve_connection(io, service);
        tokio::pin!(connection);
        let served = tokio::select! {
            served = connection.as_mut() => served,
            () = self.draining.cancelled() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = served {
            // Timeouts and clients going away are routine at the edge.
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}

/// Completes on SIGTERM (Knative, Kubernetes, systemd) or Ctrl-C. The handlers are installed
/// when this is called, not when the future is first polled: call it before saying "ready",
/// so that a signal right after (an orchestrator's, a test's) is a shutdown and never the
/// default action, which kills the process mid-write.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        [signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok()]
    };
    async move {
        #[cfg(unix)]
        {
            let [terminate, interrupt] = signals.map(|s| async move {
                match s {
                    Some(mut s) => s.recv().await.unwrap_or_default(),
                    None => std::future::pending().await,
                }
            });
            tokio::select! {
                () = terminate => {},
                () = interrupt => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received: draining");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::sync::{Notify, oneshot};

    /// Serves `router` on a free port; the URL, the shutdown trigger, and the serving task.
    async fn spawn(
        router: Router,
        limits: Limits,
        stopping: CancellationToken,
    ) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (trigger, signal) = oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            let shutdown = async move {
                let _ = signal.await;
            };
            serve(listener, router, &limits, shutdown, stopping).await
        });
        (url, trigger, served)
    }

    /// Without the handler in place at the call, this SIGTERM would kill the test binary.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_sigterm_before_the_first_poll_is_a_shutdown() {
        let shutdown = shutdown_signal();
        let sent = std::process::Command::new("kill").args(["-TERM", &std::process::id().to_string()]).status().unwrap();
        assert!(sent.success());
        tokio::time::timeout(std::time::Duration::from_secs(10), shutdown).await.expect("the signal ends the future");
    }

    #[tokio::test]
    async fn each_request_carries_its_client_address() {
        let router = Router::new().route("/who", get(|ClientAddr(ip): ClientAddr| async move { format!("{ip:?}") }));
        let limits = Limits { trusted_proxy_hops: 1, ..Limits::default() };
        let (url, _trigger, _served) = spawn(router, limits, CancellationToken::new()).await;
        let client = reqwest::Client::new();
        let who = client.get(format!("{url}/who")).header("x-forwarded-for", "6.6.6.6, 203.0.113.7").send().await.unwrap();
        assert_eq!(who.text().await.unwrap(), "Some(203.0.113.7)");
        let who = client.get(format!("{url}/who")).send().await.unwrap();
        assert_eq!(who.text().await.unwrap(), "Some(127.0.0.1)");
    }

    #[tokio::test]
    async fn at_the_deadline_long_work_is_told_to_stop_and_serving_ends() {
        let stopping = CancellationToken::new();
        let started = Arc::new(Notify::new());
        let (token, notify) = (stopping.clone(), started.clone());
        let router = Router::new().route(
            "/long",
            get(move || async move {
                notify.notify_one();
                token.cancelled().await;
                "stopped"
            }),
        );
        let limits = Limits { shutdown_grace: Duration::from_secs(1), ..Limits::default() };
        let (url, trigger, served) = spawn(router, limits, stopping).await;
        let request = tokio::spawn(async move { reqwest::get(format!("{url}/long")).await.unwrap().text().await.unwrap() });
        started.notified().await;
        let start = tokio::time::Instant::now();
        trigger.send(()).unwrap();
        assert_eq!(request.await.unwrap(), "stopped", "the in-flight request finished once told to stop");
        served.await.unwrap().unwrap();
        let took = start.elapsed();
        assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(1) + AFTER_DEADLINE, "{took:?}");
    }
}
