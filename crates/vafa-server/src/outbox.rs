//! Delivering the outbox: every notification the CRM queues (order stages, ticket
//! replies, feedback requests, task reminders) is a row written in the transaction of
//! its change; this worker sends each to its destination at least once.
//!
//! Destinations today: `log` (a structured log line) and signed webhooks. SMS and
//! e-mail arrive as new destinations of the same rows.
//!
//! A webhook receives the row's JSON body with
//! `Vafa-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
//! `Vafa-Event` and `Vafa-Delivery` (the outbox id: the same on every retry, so a
//! receiver can drop duplicates). Any 2xx is delivered; anything else is retried with
//! exponential backoff and dead-lettered after [`Policy::max_attempts`].

use crate::clock::Clock;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use vafa_store::{OutboxMessage, Store};

/// How the worker retries.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts before a message is dead-lettered.
    pub max_attempts: i64,
    /// The wait after the first failure; it doubles each time.
    pub base_backoff: jiff::SignedDuration,
    pub max_backoff: jiff::SignedDuration,
    /// How long a claimed message is ours before another worker may take it. The worker
    /// never uses less than a whole pass can take (see [`Policy::effective_lease`]).
    pub lease: jiff::SignedDuration,
    pub timeout: Duration,
    /// Messages per pass.
    pub batch: u32,
    /// Deliveries in flight at once within a pass.
    pub concurrency: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 8,
            base_backoff: jiff::SignedDuration::from_secs(30),
            max_backoff: jiff::SignedDuration::from_hours(6),
            lease: jiff::SignedDuration::from_secs(60),
            timeout: Duration::from_secs(10),
            batch: 32,
            concurrency: 8,
        }
    }
}

impl Policy {
    /// The lease a pass takes: at least the time its slowest possible run needs (every
    /// delivery timing out, `concurrency` at a time) plus a margin, so a live worker's
    /// lease never runs out under it and another server never sends the same message
    /// while the first is still at it.
    pub fn effective_lease(&self) -> jiff::SignedDuration {
        let rounds = u64::from(self.batch).div_ceil(self.concurrency.max(1) as u64);
        let worst = self
            .timeout
            .saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
            .saturating_add(Duration::from_secs(10));
        let worst = jiff::SignedDuration::try_from(worst).unwrap_or(jiff::SignedDuration::MAX);
        self.lease.max(worst)
    }

    /// When to try again after the `attempts`-th failure; `None`: dead-letter it.
    pub fn retry_at(&self, attempts: i64, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 1i64 << (attempts - 1).clamp(0, 30);
        let wait = self
            .base_backoff
            .checked_mul(i32::try_from(factor).unwrap_or(i32::MAX))
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        Some(now + wait)
    }
}

/// The `Vafa-Signature` header value for `body` sent at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{unix_seconds}.{body}").as_bytes());
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub delivered: u32,
    pub retried: u32,
    pub dead: u32,
    /// Outcomes not recorded because the lease had passed to another worker.
    pub lease_lost: u32,
}

enum Outcome {
    Delivered,
    Retried,
    Dead,
    LeaseLost,
}

pub struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    policy: Policy,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, policy: Policy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Worker {
            store,
            clock,
            http,
            policy,
        }
    }

    /// Deliver what is due now, once: up to `batch` messages, `concurrency` at a time.
    pub async fn pass(&self) -> Result<Pass, vafa_store::StoreError> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_outbox(None, now, self.policy.effective_lease(), self.policy.batch)
            .await?;
        let outcomes: Vec<Outcome> = stream::iter(claimed)
            .map(|m| async move { self.settle(&m).await })
            .buffer_unordered(self.policy.concurrency.max(1))
            .try_collect()
            .await?;
        let mut pass = Pass::default();
        for o in outcomes {
            match o {
                Outcome::Delivered => pass.delivered += 1,
                Outcome::Retried => pass.retried += 1,
                Outcome::Dead => pass.dead += 1,
                Outcome::LeaseLost => pass.lease_lost += 1,
            }
        }
        Ok(pass)
    }

    /// Try one message and record the outcome under its lease.
    async fn settle(&self, message: &OutboxMessage) -> Result<Outcome, vafa_store::StoreError> {
        let lease = message.lease_id.as_deref().unwrap_or_default();
        let (recorded, outcome) = match self.deliver(message).await {
            Ok(()) => (
                self.store
                    .outbox_delivered(&message.id, lease, self.clock.now())
                    .await?,
                Outcome::Delivered,
            ),
            Err(error) => {
                let retry_at = self.policy.retry_at(message.attempts + 1, self.clock.now());
                let recorded = self
                    .store
                    .outbox_failed(&message.id, lease, &error, retry_at)
                    .await?;
                if retry_at.is_none() && recorded {
                    tracing::warn!(id = %message.id, event = %message.event, %error, "notification dead-lettered");
                }
                let outcome = if retry_at.is_some() {
                    Outcome::Retried
                } else {
                    Outcome::Dead
                };
                (recorded, outcome)
            }
        };
        if !recorded {
            tracing::warn!(id = %message.id, "outbox lease lost before the outcome was recorded; another worker owns the message");
            return Ok(Outcome::LeaseLost);
        }
        Ok(outcome)
    }

    async fn deliver(&self, m: &OutboxMessage) -> Result<(), String> {
        if m.destination == "log" {
            tracing::info!(
                target: "vafa::notify",
                id = %m.id, program = %m.program_id, event = %m.event,
                customer = m.customer_id.as_deref().unwrap_or("-"),
                payload = %m.payload, "notification"
            );
            return Ok(());
        }
        let Some((url, secret)) = &m.webhook else {
            return Err(format!("no webhook {} for this message", m.destination));
        };
        let body = m.payload.to_string();
        let sent_at = self.clock.now().as_second();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("vafa-event", &m.event)
            .header("vafa-delivery", &m.id)
            .header("vafa-signature", signature(secret, sent_at, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {}", response.status()))
        }
    }

    /// Run until the task is dropped: a pass every `every`.
    pub async fn run(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Keep going while passes come back full.
            loop {
                match self.pass().await {
                    Ok(p)
                        if p.delivered + p.retried + p.dead + p.lease_lost >= self.policy.batch =>
                    {
                        continue
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox pass failed; will retry");
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_then_dead_letters() {
        let p = Policy::default();
        let now = jiff::Timestamp::UNIX_EPOCH;
        let wait = |n| p.retry_at(n, now).map(|t| (t - now).get_seconds());
        assert_eq!(wait(1), Some(30));
        assert_eq!(wait(2), Some(60));
        assert_eq!(wait(3), Some(120));
        assert_eq!(wait(7), Some(1920));
        assert_eq!(wait(8), None);
        let long = Policy {
            max_attempts: 100,
            ..Policy::default()
        };
        assert_eq!(
            long.retry_at(40, now).map(|t| (t - now).get_seconds()),
            Some(6 * 3600)
        );
    }

    #[test]
    fn signature_is_hmac_sha256_of_time_and_body() {
        // Computed independently: Python's hmac.new(b"Jefe", b"0.what do ya want for
        // nothing?", hashlib.sha256).hexdigest().
        let sig = signature("Jefe", 0, "what do ya want for nothing?");
        assert_eq!(
            sig,
            "t=0,v1=37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc"
        );
        assert_ne!(sig, signature("Jefe", 1, "what do ya want for nothing?"));
    }
}
