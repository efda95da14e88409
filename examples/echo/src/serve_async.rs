//! The sample on an async runtime ([`AsyncRuntime`]): a listener per address, a task per
//! connection, Ctrl-C to stop (gracefully: every WebSocket gets 1001 and a clean close). The runtime files (`serve_tokio.rs`, `serve_smol.rs`) only
//! map these steps onto their runtime.

use std::future::Future;
use std::net::SocketAddr;

use ropeway_async::{Registry, going_away};
use ropeway_common::AcceptBackoff;

use crate::accept;
use crate::app;
use crate::async_runtime::AsyncRuntime;
use crate::options::Options;

/// Serves on runtime `R` until Ctrl-C.
pub fn run<R: AsyncRuntime>(options: Options) -> Result<(), String> {
    R::block_on(serve::<R>(options))?
}

async fn serve<R: AsyncRuntime>(options: Options) -> Result<(), String> {
    let stop = R::ctrl_c()?;
    let registry = Registry::<R>::new();
    if let Some(url) = &options.backplane {
        // The registry's groups (the rooms) span every process joined to the backplane.
        let backplane = crate::backplane::start(url, registry.local_delivery())?;
        registry.attach_backplane(std::sync::Arc::new(backplane));
    }
    let config = app::server_config(&options);
    let tls = app::tls_config(&options)?;
    let mut bound = 0;
    for addr in &options.listen {
        match R::bind(*addr).await {
            Ok(listener) => {
                bound += 1;
                app::listening(tls.is_some(), addr);
                R::serve_listener(listener, config.clone(), tls.clone(), registry.clone());
            }
            // [::1] is missing on hosts without IPv6; the other address still serves.
            Err(e) => eprintln!("cannot listen on {addr}: {e}"),
        }
    }
    if bound == 0 {
        return Err("no address to listen on".into());
    }
    app::ready(tls.is_some(), &options);
    stop.await?;
    // The graceful shutdown: 1001 to every WebSocket, their close handshakes awaited (up to
    // the timeout); returning then ends the runtime and its accept loops.
    let open = registry.len();
    let still_open = registry.shutdown(going_away(), app::SHUTDOWN_TIMEOUT).await;
    app::stopped(Some(open), still_open);
    Ok(())
}

/// Accepts connections on `listener` (pausing when descriptors run out, see `accept`), each
/// served by `serve` on its own task with `TCP_NODELAY` set, until `registry` is closing
/// (Ctrl-C): the accept races the shutdown, so the listener closes as the shutdown begins,
/// not at the next client.
pub async fn accept_loop<R, F, Fut>(listener: R::TcpListener, registry: Registry<R>, serve: F)
where
    R: AsyncRuntime,
    F: Fn(R::TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut backoff = AcceptBackoff::new();
    loop {
        let accepted =
            futures_lite::future::or(async { Some(R::accept(&listener).await) }, async {
                registry.closing().await;
                None
            });
        let Some(accepted) = accepted.await else {
            // Ctrl-C came: the listener closes, so later clients are refused at once rather
            // than queued for a server that is leaving.
            return;
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => {
                accept::succeeded(&mut backoff);
                accepted
            }
            Err(e) => {
                if let Some(pause) = accept::failed(&mut backoff, &e) {
                    R::sleep(pause).await;
                }
                continue;
            }
        };
        if registry.is_closing() {
            // Accepted as the shutdown began: refused with the listener.
            return;
        }
        let _ = R::set_nodelay(&tcp);
        R::spawn(serve(tcp, peer));
    }
}
