//! The rewards catalog on both backends: claims spend points through the journal and
//! stock, limits and tiers hold, codes are used once and expire, cancelling returns the
//! points, and gifts move through fulfilment.

use crate::ledger::customer;
use crate::{each_backend, program};
use vafa_core::rewards::RewardDef;
use vafa_store::*;

fn def(json: serde_json::Value) -> RewardDef {
    serde_json::from_value(json).unwrap()
}

fn later(ctx: &Ctx, days: i64) -> Ctx {
    Ctx {
        now: ctx
            .now
            .checked_add(jiff::SignedDuration::from_hours(24 * days))
            .unwrap(),
        ..ctx.clone()
    }
}

#[tokio::test]
async fn claims_spend_points_and_codes_are_used_once() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Rewards").await;
        let latte = store
            .create_reward(
                &ctx,
                &def(serde_json::json!({
                    "name": "Free latte", "kind": {"type": "free_product", "sku": "LATTE"},
                    "cost_points": 300, "stock": 2, "per_customer_limit": 1, "code_valid_days": 7
                })),
            )
            .await
            .unwrap();
        let (a, b, c) = (
            customer(&store, &ctx, "A").await,
            customer(&store, &ctx, "B").await,
            customer(&store, &ctx, "C").await,
        );
        for x in [&a, &b, &c] {
            store.adjust(&ctx, x, 500, "welcome", None).await.unwrap();
        }
        let idem = Idempotency {
            key: "claim-a".into(),
            fingerprint: "f".into(),
        };
        let claim = store
            .claim_reward(&ctx, &latte.id, &a, Some(&idem))
            .await
            .unwrap();
        assert_eq!(
            (claim.value.points, claim.value.status.as_str()),
            (300, "issued"),
            "{name}"
        );
        assert!(claim.value.code.starts_with("RW-") && claim.value.code.len() == 14);
        let replay = store
            .claim_reward(&ctx, &latte.id, &a, Some(&idem))
            .await
            .unwrap();
        assert!(
            replay.replayed && replay.value == claim.value,
            "{name}: a retry is not a second claim"
        );
        assert_eq!(
            store
                .balance(&ctx.program_id, &a, ctx.now)
                .await
                .unwrap()
                .points_available,
            200
        );
        assert!(matches!(
            store.claim_reward(&ctx, &latte.id, &a, None).await,
            Err(StoreError::RewardUnavailable(m)) if m.contains("most allowed")
        ));
        let b_claim = store
            .claim_reward(&ctx, &latte.id, &b, None)
            .await
            .unwrap()
            .value;
        assert!(matches!(
            store.claim_reward(&ctx, &latte.id, &c, None).await,
            Err(StoreError::RewardUnavailable(m)) if m.contains("out of stock")
        ));

        // The counter uses A's code once.
        let used = store
            .use_reward_code(&ctx, &claim.value.code)
            .await
            .unwrap();
        assert_eq!(used.status, "used");
        assert!(matches!(
            store.use_reward_code(&ctx, &claim.value.code).await,
            Err(StoreError::ClaimNotUsable(m)) if m.contains("already used")
        ));
        assert!(matches!(
            store.cancel_reward_claim(&ctx, &claim.value.id, "x").await,
            Err(StoreError::ClaimNotUsable(_))
        ));

        // B changes their mind: the points come back, and the unit of stock.
        let cancelled = store
            .cancel_reward_claim(&ctx, &b_claim.id, "changed mind")
            .await
            .unwrap();
        assert_eq!(
            (
                cancelled.status.as_str(),
                cancelled.refund_entry_id.is_some()
            ),
            ("cancelled", true)
        );
        assert_eq!(
            store
                .balance(&ctx.program_id, &b, ctx.now)
                .await
                .unwrap()
                .points_available,
            500,
            "{name}"
        );
        assert_eq!(
            store
                .get_reward(&ctx.program_id, &latte.id)
                .await
                .unwrap()
                .unwrap()
                .stock_left,
            Some(1)
        );
        let c_claim = store
            .claim_reward(&ctx, &latte.id, &c, None)
            .await
            .unwrap()
            .value;
        // A code not used within its days expires.
        assert!(matches!(
            store.use_reward_code(&later(&ctx, 7), &c_claim.code).await,
            Err(StoreError::ClaimNotUsable(m)) if m.contains("expired")
        ));

        // Tier prices and restrictions, insufficient points, gifts and fulfilment.
        let gift = store
            .create_reward(
                &ctx,
                &def(serde_json::json!({
                    "name": "Mug", "kind": {"type": "physical_gift"}, "cost_points": 1000
                })),
            )
            .await
            .unwrap();
        assert!(matches!(
            store.claim_reward(&ctx, &gift.id, &c, None).await,
            Err(StoreError::InsufficientPoints { available: 200 })
        ));
        store
            .adjust(&ctx, &c, 1000, "goodwill", None)
            .await
            .unwrap();
        let mug = store
            .claim_reward(&ctx, &gift.id, &c, None)
            .await
            .unwrap()
            .value;
        assert_eq!(mug.fulfilment.as_deref(), Some("pending"));
        let shipped = store
            .set_reward_fulfilment(&ctx, &mug.id, "shipped")
            .await
            .unwrap();
        assert_eq!(shipped.fulfilment.as_deref(), Some("shipped"));
        // Shipped: it cannot be cancelled (the customer would keep the gift and the
        // points) nor go back; the same step again changes nothing; delivered is used.
        assert!(
            matches!(
                store.cancel_reward_claim(&ctx, &mug.id, "x").await,
                Err(StoreError::ClaimNotUsable(m)) if m.contains("shipped")
            ),
            "{name}"
        );
        assert!(
            matches!(
                store.set_reward_fulfilment(&ctx, &mug.id, "packed").await,
                Err(StoreError::ClaimNotUsable(m)) if m.contains("cannot go back")
            ),
            "{name}"
        );
        let again = store
            .set_reward_fulfilment(&ctx, &mug.id, "shipped")
            .await
            .unwrap();
        assert_eq!(
            (again.fulfilment.as_deref(), again.status.as_str()),
            (Some("shipped"), "issued")
        );
        let delivered = store
            .set_reward_fulfilment(&ctx, &mug.id, "delivered")
            .await
            .unwrap();
        assert_eq!(
            (delivered.fulfilment.as_deref(), delivered.status.as_str()),
            (Some("delivered"), "used"),
            "{name}"
        );
        assert!(delivered.used_at.is_some());
        assert!(
            matches!(
                store.use_reward_code(&ctx, &mug.code).await,
                Err(StoreError::ClaimNotUsable(m)) if m.contains("already used")
            ),
            "{name}"
        );
        assert!(matches!(
            store.cancel_reward_claim(&ctx, &mug.id, "x").await,
            Err(StoreError::ClaimNotUsable(_))
        ));
        // A gift's code used at the counter is the gift handed over.
        store
            .adjust(&ctx, &c, 2000, "goodwill", None)
            .await
            .unwrap();
        let handed = store
            .claim_reward(&ctx, &gift.id, &c, None)
            .await
            .unwrap()
            .value;
        let used = store.use_reward_code(&ctx, &handed.code).await.unwrap();
        assert_eq!(
            (used.fulfilment.as_deref(), used.status.as_str()),
            (Some("delivered"), "used"),
            "{name}"
        );
        // An erased customer's claim is nobody's: not cancelled back into points, not used.
        let kept = store
            .claim_reward(&ctx, &gift.id, &c, None)
            .await
            .unwrap()
            .value;
        store.erase_customer(&ctx, &c).await.unwrap();
        assert!(
            matches!(
                store.cancel_reward_claim(&ctx, &kept.id, "x").await,
                Err(StoreError::CustomerClosed(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                store.use_reward_code(&ctx, &kept.code).await,
                Err(StoreError::CustomerClosed(_))
            ),
            "{name}"
        );
        assert!(matches!(
            store
                .set_reward_fulfilment(&ctx, &c_claim.id, "shipped")
                .await,
            Err(StoreError::ClaimNotUsable(_))
        ));
        store.retire_reward(&ctx, &gift.id).await.unwrap();
        assert!(matches!(
            store.claim_reward(&ctx, &gift.id, &a, None).await,
            Err(StoreError::RewardUnavailable(m)) if m.contains("retired")
        ));
        let history = store
            .customer_reward_claims(&ctx.program_id, &c)
            .await
            .unwrap();
        assert_eq!(
            history
                .iter()
                .map(|h| h.reward_name.as_str())
                .collect::<Vec<_>>(),
            ["Mug", "Mug", "Mug", "Free latte"]
        );

        let report = store.verify_ledger(None).await.unwrap();
        assert!(report.problems.is_empty(), "{name}: {:#?}", report.problems);
    })
    .await;
}

/// A merge hands the duplicate's claims to the survivor: its limit counts them, and an
/// unused claim cancelled afterwards gives the points back to the survivor, who can
/// spend them, not to the closed record.
#[tokio::test]
async fn a_merge_hands_the_duplicates_claims_to_the_survivor() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Merged claims").await;
        let latte = store
            .create_reward(
                &ctx,
                &def(serde_json::json!({
                    "name": "Free latte", "kind": {"type": "free_product", "sku": "LATTE"},
                    "cost_points": 300, "per_customer_limit": 1, "code_valid_days": 7
                })),
            )
            .await
            .unwrap();
        let keep = customer(&store, &ctx, "Keep").await;
        let dup = customer(&store, &ctx, "Dup").await;
        store
            .adjust(&ctx, &dup, 500, "welcome", None)
            .await
            .unwrap();
        let claim = store
            .claim_reward(&ctx, &latte.id, &dup, None)
            .await
            .unwrap()
            .value;
        store.merge_customers(&ctx, &keep, &dup).await.unwrap();
        assert!(
            matches!(
                store.claim_reward(&ctx, &latte.id, &keep, None).await,
                Err(StoreError::RewardUnavailable(m)) if m.contains("most allowed")
            ),
            "{name}: one latte for the one person behind both records"
        );
        let back = store
            .cancel_reward_claim(&ctx, &claim.id, "changed mind")
            .await
            .unwrap();
        assert_eq!(back.customer_id, keep, "{name}");
        let b = store
            .balance(&ctx.program_id, &keep, crate::now())
            .await
            .unwrap();
        assert_eq!(
            b.points_available, 500,
            "{name}: 200 moved by the merge, 300 given back"
        );
        crate::ledger::verified(&store, name).await;
    })
    .await;
}
