//! `bistro check-config`: a configuration (file and `BISTRO_*` variables)
//! checked as `bistro serve` would check it, without connecting to a store or
//! binding a port, so a deploy can refuse a bad one before it replaces a
//! running replica.

use anyhow::Context as _;

use crate::config::Config;

/// Checks `config` as a start would, short of connecting and binding: the
/// settings `Config::validate` refuses, both listen addresses, the trusted
/// proxies, the SMTP URL and the payment provider's settings. The lines are
/// a summary for the operator; the error says what is wrong.
pub fn check(config: &Config) -> anyhow::Result<Vec<String>> {
    config.validate()?;
    let listen = config.listen_addr()?;
    let metrics = config.metrics.listen_addr()?;
    let delivery = bistro_mail::Delivery::from_settings(
        std::path::Path::new(&config.mail.mailbox_dir),
        &config.mail.smtp_url,
        &config.mail.from,
    )?;
    if config.payments.is_stripe() {
        bistro_payments::StripeProcessor::new(config.payments.stripe())
            .map_err(|e| anyhow::anyhow!(e))
            .context("payments: the Stripe client")?;
    }
    Ok(vec![
        format!("environment: {:?}", config.environment),
        format!("listen: {listen}"),
        format!(
            "metrics: {}",
            metrics.map_or_else(|| "off".to_owned(), |addr| format!("/metrics on {addr}"))
        ),
        if config.telemetry.enabled() {
            format!(
                "traces: OTLP/HTTP to {}, {} of new traces kept",
                config.telemetry.traces_url(),
                config.telemetry.sample_ratio
            )
        } else {
            "traces: off".to_owned()
        },
        format!(
            "relational store: {}",
            crate::app::redact(&config.database_url)
        ),
        format!(
            "key-value store: {}",
            if config.redis_url.is_empty() {
                "in-process".to_owned()
            } else {
                crate::app::redact(&config.redis_url)
            }
        ),
        format!("payments: {}", config.payments.provider),
        format!("email: {}", delivery.kind()),
    ])
}
