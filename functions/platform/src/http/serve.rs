//! Serving a router until SIGTERM or Ctrl-C, letting in-flight requests finish within the
//! shutdown grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// After the grace period, how long cut-off work (a conversion putting its job back in the
/// queue) may take before the connections are dropped.
const AFTER_DEADLINE: Duration = Duration::from_secs(5);

/// Serves `router` on `listener` until `shutdown` completes, then drains in-flight requests
/// for at most `grace`. At the deadline `stopping` is cancelled (long work re-queues itself),
/// and whatever is still open shortly after is dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    stopping: CancellationToken,
) -> std::io::Result<()> {
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    // The peer address is what `ClientAddr` falls back to (per-address limits).
    let router = router.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = signalled.send(());
    });
    let server = std::future::IntoFuture::into_future(server);
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => return served,
        _ = on_signal => {}
    }
    if let Ok(served) = tokio::time::timeout(grace, &mut server).await {
        return served;
    }
    tracing::warn!(grace_secs = grace.as_secs(), "shutdown grace period over: cutting off what is still running");
    stopping.cancel();
    let _ = tokio::time::timeout(AFTER_DEADLINE, &mut server).await;
    Ok(())
}

/// Completes on SIGTERM (Knative, Kubernetes, systemd) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: draining");
}
