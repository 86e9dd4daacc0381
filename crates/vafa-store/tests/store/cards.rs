use crate::{each_backend, program};
use std::collections::HashSet;
use vafa_core::customer::ProfilePatch;
use vafa_core::patch::Patch;
use vafa_store::{CardKind, CardStatus, IssueCards, StoreError};

#[tokio::test]
async fn bearer_cards_bind_block_and_replace_with_history() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Cards").await;
        let batch = store
            .issue_cards(
                &ctx,
                &IssueCards {
                    customer_id: None,
                    count: 3,
                },
            )
            .await
            .unwrap();
        assert_eq!(batch.len(), 3);
        assert!(batch
            .iter()
            .all(|c| c.kind == CardKind::Bearer && c.customer_id.is_none()));
        let card = &batch[0];
        let customer = store
            .create_customer(
                &ctx,
                ProfilePatch {
                    first_name: Patch::Value("Mina".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();

        let bound = store
            .bind_card(&ctx, &card.number, &customer.id)
            .await
            .unwrap();
        assert_eq!(bound.customer_id.as_deref(), Some(customer.id.as_str()));
        assert!(matches!(
            store.bind_card(&ctx, &card.number, &customer.id).await,
            Err(StoreError::CardAlreadyBound)
        ));

        let replaced = store
            .replace_card(&ctx, &card.number, "lost")
            .await
            .unwrap();
        assert_eq!(replaced.old.status, CardStatus::Replaced);
        assert_eq!(
            replaced.old.replaced_by.as_deref(),
            Some(replaced.new.number.as_str())
        );
        assert_eq!(
            replaced.new.customer_id.as_deref(),
            Some(customer.id.as_str()),
            "{name}"
        );
        assert!(matches!(
            store.block_card(&ctx, &card.number, "x").await,
            Err(StoreError::CardNotActive("replaced"))
        ));

        let blocked = store
            .block_card(&ctx, &replaced.new.number, "stolen")
            .await
            .unwrap();
        assert_eq!(blocked.status, CardStatus::Blocked);
        let detail = store
            .get_card(&ctx.program_id, &card.number)
            .await
            .unwrap()
            .unwrap();
        let events: Vec<_> = detail.history.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(events, ["issued", "bound", "replaced"]);
        assert_eq!(
            store
                .customer_cards(&ctx.program_id, &customer.id)
                .await
                .unwrap()
                .len(),
            2
        );

        let other = program(&store, "Other").await;
        assert!(store
            .get_card(&other.program_id, &card.number)
            .await
            .unwrap()
            .is_none());
        assert!(matches!(
            store.block_card(&other, &batch[1].number, "x").await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_bulk_batch_has_distinct_valid_numbers() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Bulk").await;
        let batch = store
            .issue_cards(
                &ctx,
                &IssueCards {
                    customer_id: None,
                    count: 2000,
                },
            )
            .await
            .unwrap();
        let numbers: HashSet<_> = batch.iter().map(|c| c.number.as_str().to_owned()).collect();
        assert_eq!(numbers.len(), 2000, "{name}");
        assert!(numbers.iter().all(|n| vafa_core::card::luhn_valid(n)));
        let personal = store
            .issue_cards(
                &ctx,
                &IssueCards {
                    customer_id: Some("cus_nope".into()),
                    count: 1,
                },
            )
            .await;
        assert!(matches!(personal, Err(StoreError::NotFound("customer"))));
    })
    .await;
}
