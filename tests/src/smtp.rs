//! A small SMTP server for the mail tests: it accepts every message the
//! outbox worker's real SMTP client (`lettre`) sends, records each one's
//! `Message-ID` in the order they arrive, and can hold its answer to each
//! message (the "250" after the data) until the test releases it, which is
//! how a slow SMTP server looks to a client.
//!
//! Plain SMTP on 127.0.0.1 (no TLS, no authentication): `smtp://127.0.0.1:<port>`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

/// How long a test waits for a message that should arrive: generous, since
/// it only bounds a failing test.
const PATIENCE: Duration = Duration::from_secs(10);

/// A running SMTP server (stopped when dropped).
pub struct SmtpServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<String>>>,
    arrivals: tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>,
    answers: Option<Arc<Semaphore>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// A server that answers every message at once.
    pub async fn start() -> Self {
        Self::spawn(None).await
    }

    /// A server that holds its answer to each message until [`Self::release`].
    pub async fn start_held() -> Self {
        Self::spawn(Some(Arc::new(Semaphore::new(0)))).await
    }

    async fn spawn(answers: Option<Arc<Semaphore>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let addr = listener.local_addr().expect("local address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let (arrived, arrivals) = mpsc::unbounded_channel();
        let task = tokio::spawn({
            let received = received.clone();
            let answers = answers.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(session(
                        stream,
                        received.clone(),
                        arrived.clone(),
                        answers.clone(),
                    ));
                }
            }
        });
        Self {
            addr,
            received,
            arrivals: tokio::sync::Mutex::new(arrivals),
            answers,
            task,
        }
    }

    /// `smtp://127.0.0.1:<port>`, for `mail.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The `Message-ID` of the next message to arrive (held or not), in
    /// arrival order; panics when none comes in time.
    pub async fn next_arrival(&self) -> String {
        tokio::time::timeout(PATIENCE, self.arrivals.lock().await.recv())
            .await
            .expect("a message reached the SMTP server in time")
            .expect("the server runs")
    }

    /// Answers `n` more held messages (in the order they arrived).
    pub fn release(&self, n: usize) {
        if let Some(answers) = &self.answers {
            answers.add_permits(n);
        }
    }

    /// Every `Message-ID` received so far, in arrival order, repeats included.
    pub fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection: greeting, commands, data, until QUIT.
async fn session(
    stream: TcpStream,
    received: Arc<Mutex<Vec<String>>>,
    arrived: mpsc::UnboundedSender<String>,
    answers: Option<Arc<Semaphore>>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if write
        .write_all(b"220 bistro-tests ESMTP\r\n")
        .await
        .is_err()
    {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.to_ascii_uppercase();
        let answer: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 bistro-tests\r\n"
        } else if command.starts_with("DATA") {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut message_id = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                if let Some(id) = line.strip_prefix("Message-ID: ") {
                    message_id = id.trim().to_owned();
                }
            }
            received
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(message_id.clone());
            let _ = arrived.send(message_id);
            if let Some(answers) = &answers {
                match answers.acquire().await {
                    Ok(permit) => permit.forget(),
                    Err(_) => return,
                }
            }
            b"250 queued\r\n"
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 ok\r\n"
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}
