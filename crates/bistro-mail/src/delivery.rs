//! Where messages go: a mailbox folder, or an SMTP server.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bistro_sql::entity::email_outbox;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The message cannot be built (a malformed address): retrying will not help.
    #[error("undeliverable message: {0}")]
    Message(String),
    /// The mailbox folder or the SMTP server refused or failed: retry later.
    #[error("delivery failed: {0}")]
    Transport(String),
}

impl DeliveryError {
    /// Whether a later attempt may succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Message(_))
    }
}

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// The message went out now.
    Sent,
    /// The mailbox folder already had it (an earlier attempt delivered it
    /// and was not marked): nothing was written twice.
    AlreadyThere,
}

/// A message ready to deliver.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// Stable across attempts: `<{kind}-{outbox id}@{domain}>` without the brackets.
    pub message_id: String,
    /// The sender.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// When the message was written (its `Date`, the same on every attempt).
    pub date: SystemTime,
}

impl OutgoingMessage {
    /// The message of an outbox row, sent as `from`.
    pub fn from_row(row: &email_outbox::Model, from: &str) -> Self {
        let domain = sender_domain(from).unwrap_or("bistro.invalid");
        Self {
            message_id: format!(
                "{}-{}@{domain}",
                row.kind.to_lowercase().replace('_', "-"),
                row.id
            ),
            from: from.to_owned(),
            to: row.recipient.clone(),
            subject: row.subject.clone(),
            body: row.body.clone(),
            date: row.created_at.into(),
        }
    }

    /// The file name the mailbox folder keeps it under.
    pub fn file_name(&self) -> String {
        let safe: String = self
            .message_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.eml")
    }

    fn build(&self) -> Result<Message, DeliveryError> {
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| DeliveryError::Message(format!("sender: {e}")))?;
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|e| DeliveryError::Message(format!("recipient: {e}")))?;
        Message::builder()
            .message_id(Some(format!("<{}>", self.message_id)))
            .date(self.date)
            .from(from)
            .to(to)
            .subject(self.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(self.body.clone())
            .map_err(|e| DeliveryError::Message(e.to_string()))
    }

    /// The message as RFC 5322 bytes (what a `.eml` file holds).
    pub fn to_eml(&self) -> Result<Vec<u8>, DeliveryError> {
        Ok(self.build()?.formatted())
    }
}

/// The domain of a sender such as `Bistro <orders@bistro.test>`.
fn sender_domain(from: &str) -> Option<&str> {
    from.rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty())
}

/// Where messages go.
#[derive(Clone)]
pub enum Delivery {
    /// One `.eml` file per message in a folder.
    Mailbox(PathBuf),
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The SMTP URL may hold a password: never printed.
            Self::Mailbox(dir) => write!(f, "Mailbox({})", dir.display()),
            Self::Smtp(_) => write!(f, "Smtp"),
        }
    }
}

impl Delivery {
    /// SMTP when `smtp_url` is set (`smtp://`, `smtps://`, with credentials
    /// and `?tls=required` as lettre reads them), greeting as the domain of
    /// `from`; else the mailbox folder.
    pub fn from_settings(
        mailbox_dir: &Path,
        smtp_url: &str,
        from: &str,
    ) -> Result<Self, DeliveryError> {
        if smtp_url.is_empty() {
            return Ok(Self::Mailbox(mailbox_dir.to_owned()));
        }
        AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map(|builder| {
                // Greet as the sender's domain: some servers refuse a bare "localhost".
                let builder = match sender_domain(from) {
                    Some(domain) => builder.hello_name(ClientId::Domain(domain.to_owned())),
                    None => builder,
                };
                Self::Smtp(builder.build())
            })
            .map_err(|e| DeliveryError::Message(format!("mail.smtp_url: {e}")))
    }

    /// `"mailbox"` or `"smtp"`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Mailbox(_) => "mailbox",
            Self::Smtp(_) => "smtp",
        }
    }

    /// Delivers one message.
    pub async fn deliver(&self, message: &OutgoingMessage) -> Result<Delivered, DeliveryError> {
        match self {
            Self::Mailbox(dir) => deliver_to_folder(dir, message).await,
            Self::Smtp(transport) => {
                // The SMTP exchange's span (traces on): the outbox worker's
                // own trace, one per message, without addresses.
                let span =
                    tracing::debug_span!("smtp", otel.name = "smtp send", otel.kind = "client");
                let sent = tracing::Instrument::instrument(transport.send(message.build()?), span);
                sent.await
                    .map_err(|e| DeliveryError::Transport(e.to_string()))?;
                Ok(Delivered::Sent)
            }
        }
    }
}

/// Writes the message aside, then links it to its final name, which fails
/// if the name exists: the file appears whole, once.
async fn deliver_to_folder(
    dir: &Path,
    message: &OutgoingMessage,
) -> Result<Delivered, DeliveryError> {
    let transport = |e: std::io::Error| DeliveryError::Transport(format!("{}: {e}", dir.display()));
    let target = dir.join(message.file_name());
    if tokio::fs::try_exists(&target).await.map_err(transport)? {
        return Ok(Delivered::AlreadyThere);
    }
    let bytes = message.to_eml()?;
    let partial_dir = dir.join(".partial");
    tokio::fs::create_dir_all(&partial_dir)
        .await
        .map_err(transport)?;
    // Unique per attempt, so two workers never write the same partial file.
    let partial = partial_dir.join(format!(
        "{}.{}.{}",
        message.file_name(),
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    tokio::fs::write(&partial, &bytes)
        .await
        .map_err(transport)?;
    let linked = tokio::fs::hard_link(&partial, &target).await;
    let _ = tokio::fs::remove_file(&partial).await;
    match linked {
        Ok(()) => Ok(Delivered::Sent),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Delivered::AlreadyThere),
        Err(e) => Err(transport(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> OutgoingMessage {
        OutgoingMessage {
            message_id: id.into(),
            from: "Bistro <orders@bistro.test>".into(),
            to: "customer@bistro.test".into(),
            subject: "Your order 7".into(),
            body: "Thank you.\n".into(),
            date: SystemTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn a_message_lands_once_in_the_folder_whatever_the_attempts() {
        let dir =
            std::env::temp_dir().join(format!("bistro-mail-{}", uuid::Uuid::new_v4().simple()));
        let delivery = Delivery::Mailbox(dir.clone());
        let m = message("order-confirmation-7@bistro.test");
        assert_eq!(delivery.deliver(&m).await.unwrap(), Delivered::Sent);
        assert_eq!(delivery.deliver(&m).await.unwrap(), Delivered::AlreadyThere);
        let other = message("x@y");
        let (a, b) = tokio::join!(delivery.deliver(&other), delivery.deliver(&other));
        let mut outcomes = [a.unwrap(), b.unwrap()];
        outcomes.sort_by_key(|d| *d == Delivered::Sent);
        assert_eq!(outcomes, [Delivered::AlreadyThere, Delivered::Sent]);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .collect();
        assert_eq!(files.len(), 2);
        let eml = std::fs::read_to_string(dir.join(m.file_name())).unwrap();
        assert!(
            eml.contains("Message-ID: <order-confirmation-7@bistro.test>"),
            "{eml}"
        );
        assert!(eml.contains("Subject: Your order 7"), "{eml}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_smtp_url_selects_smtp_and_a_bad_one_is_refused() {
        let dir = Path::new("unused");
        let from = "Bistro <orders@bistro.test>";
        assert_eq!(
            Delivery::from_settings(dir, "", from).unwrap().kind(),
            "mailbox"
        );
        let smtp = Delivery::from_settings(dir, "smtp://user:secret@localhost:2525", from).unwrap();
        assert_eq!(smtp.kind(), "smtp");
        assert!(!format!("{smtp:?}").contains("secret"));
        assert!(Delivery::from_settings(dir, "smtp://[bad", from).is_err());
        assert_eq!(sender_domain(from), Some("bistro.test"));
    }

    #[test]
    fn a_bad_address_is_permanent() {
        let mut m = message("a@b");
        m.to = "not an address".into();
        assert!(m.to_eml().unwrap_err().is_permanent());
    }
}
