//! Graceful shutdown as a value every role holds: SIGTERM or SIGINT (or a failing
//! role) triggers it once; each role waits on its own copy and finishes what it holds.

use tokio::sync::watch;

/// A handle on the process's shutdown.
#[derive(Clone)]
pub struct Shutdown {
    sender: std::sync::Arc<watch::Sender<bool>>,
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    /// Starts listening for SIGTERM and SIGINT.
    pub fn listen() -> Shutdown {
        let (sender, receiver) = watch::channel(false);
        let shutdown = Shutdown { sender: std::sync::Arc::new(sender), receiver };
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(err) => {
                    tracing::error!(error = %err, "cannot listen for SIGTERM");
                    return;
                }
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: finishing what is in hand"),
                _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: finishing what is in hand"),
            }
            trigger.trigger();
        });
        shutdown
    }

    /// Asks every role to stop.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// Returns once shutdown was asked for.
    pub async fn wait(&mut self) {
        // An error means every sender is gone: nothing can ask any more; treat as asked.
        let _ = self.receiver.wait_for(|stopping| *stopping).await;
    }
}
