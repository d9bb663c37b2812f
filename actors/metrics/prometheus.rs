//! The Prometheus endpoint (`[metrics] listen`): `GET /metrics` answered from a `Metrics`
//! snapshot in Prometheus text format. Not an actor: one small task per scrape.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::{info, warn};

use super::super::mailbox::Mailbox;
use super::{Metrics, TakeSnapshot};
use actormq::metrics::render_prometheus;

/// Serves `GET /metrics` in Prometheus text format on `listener` until the process ends.
///
/// A deliberately small HTTP/1.0 responder: Prometheus sends one GET per scrape and reads to EOF.
pub async fn serve_prometheus(listener: TcpListener, metrics: Mailbox<Metrics>) {
    info!(addr = ?listener.local_addr().ok(), "prometheus endpoint listening");
    loop {
        let (mut socket, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "metrics accept failed");
                continue;
            }
        };
        let metrics = metrics.clone();
        actix_rt::spawn(async move {
            let mut request = vec![0u8; 2048];
            let mut len = 0;
            // Read until the end of the request head (or the buffer is full).
            while len < request.len() {
                match socket.read(&mut request[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => len += n,
                }
                if request[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let head = String::from_utf8_lossy(&request[..len]);
            let path = head.split_whitespace().nth(1).unwrap_or("");
            let (status, content_type, body) = if head.starts_with("GET ") && path == "/metrics" {
                match metrics
                    .send(TakeSnapshot {
                        per_connection: false,
                    })
                    .await
                {
                    Ok(s) => (
                        "200 OK",
                        "text/plain; version=0.0.4",
                        render_prometheus(&s.mailboxes, &s.gauges),
                    ),
                    Err(_) => (
                        "503 Service Unavailable",
                        "text/plain",
                        "shutting down\n".into(),
                    ),
                }
            } else {
                ("404 Not Found", "text/plain", "try GET /metrics\n".into())
            };
            let response = format!(
                "HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            if let Err(e) = socket.write_all(response.as_bytes()).await {
                warn!(%peer, error = %e, "metrics response failed");
            }
        });
    }
}
