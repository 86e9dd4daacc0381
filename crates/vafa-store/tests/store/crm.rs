//! CRM writes under concurrency: ticket numbers stay unique per program, and two
//! outbox workers never lease the same message.

use crate::{each_backend, program};
use std::collections::HashSet;
use vafa_core::crm::{TicketChannel, TicketPriority};
use vafa_core::customer::ProfilePatch;
use vafa_core::patch::Patch;
use vafa_store::{NewTicket, PageRequest};

#[tokio::test]
async fn concurrent_tickets_get_distinct_numbers_and_workers_distinct_messages() {
    each_backend(|store, backend| async move {
        let ctx = program(&store, "CRM").await;
        let patch = ProfilePatch {
            first_name: Patch::Value("Leila".into()),
            ..Default::default()
        };
        let c = store.create_customer(&ctx, patch).await.unwrap();
        let opens = (0..24).map(|i| {
            let (store, ctx, cid) = (store.clone(), ctx.clone(), c.id.clone());
            tokio::spawn(async move {
                let t = NewTicket {
                    customer_id: cid,
                    subject: format!("ticket {i}"),
                    category: "complaint".into(),
                    priority: TicketPriority::Normal,
                    channel: TicketChannel::Phone,
                    assignee_id: None,
                    purchase_id: None,
                    description: None,
                };
                store.open_ticket(&ctx, &t).await.unwrap().ticket.number
            })
        });
        let mut numbers = Vec::new();
        for h in opens {
            numbers.push(h.await.unwrap());
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=24).collect::<Vec<i64>>(), "{backend}");

        // 24 `ticket.opened` messages to the log; two workers lease them at once.
        let lease = jiff::SignedDuration::from_secs(60);
        let (a, b) = tokio::join!(
            store.claim_outbox(None, ctx.now, lease, 15),
            store.claim_outbox(None, ctx.now, lease, 15)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 24, "{backend}");
        let ids: HashSet<&str> = a.iter().chain(&b).map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 24, "no message leased twice");
        // Leased messages wait for the lease to run out, then come back.
        assert!(store
            .claim_outbox(None, ctx.now, lease, 50)
            .await
            .unwrap()
            .is_empty());
        let later = ctx.now + jiff::SignedDuration::from_secs(61);
        let again = store.claim_outbox(None, later, lease, 50).await.unwrap();
        assert_eq!(again.len(), 24);
        // The first worker's lease ran out: its late outcome is ignored (fencing), the
        // new holder's counts, once.
        let stale = &a[0];
        let fresh = again.iter().find(|m| m.id == stale.id).unwrap();
        assert_ne!(stale.lease_id, fresh.lease_id);
        let stale_lease = stale.lease_id.as_deref().unwrap();
        let fresh_lease = fresh.lease_id.as_deref().unwrap();
        assert!(
            !store
                .outbox_delivered(&stale.id, stale_lease, later)
                .await
                .unwrap(),
            "{backend}"
        );
        assert!(!store
            .outbox_failed(&stale.id, stale_lease, "late", None)
            .await
            .unwrap());
        assert!(store
            .outbox_delivered(&fresh.id, fresh_lease, later)
            .await
            .unwrap());
        assert!(
            !store
                .outbox_delivered(&fresh.id, fresh_lease, later)
                .await
                .unwrap(),
            "once"
        );
        let page = PageRequest {
            cursor: None,
            limit: 100,
        };
        let done = store
            .list_outbox(&ctx.program_id, Some("delivered"), &page)
            .await
            .unwrap();
        assert_eq!(done.items.len(), 1);
        assert_eq!(
            done.items[0].attempts, 1,
            "the stale worker's attempt was not counted"
        );
    })
    .await;
}
