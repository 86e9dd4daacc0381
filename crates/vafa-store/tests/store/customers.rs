use crate::{each_backend, program};
use vafa_core::customer::{Channel, ConsentChange, CustomerStatus, ProfilePatch, Tag};
use vafa_core::mobile::Mobile;
use vafa_core::patch::Patch;
use vafa_store::{CustomerQuery, IssueCards, PageRequest, StoreError};

fn profile(first: &str, last: &str, mobile: &str) -> ProfilePatch {
    ProfilePatch {
        first_name: Patch::Value(first.into()),
        last_name: Patch::Value(last.into()),
        mobile: Patch::Value(Mobile::parse(mobile).unwrap()),
        ..Default::default()
    }
}

fn by_q(q: &str) -> CustomerQuery {
    CustomerQuery {
        q: Some(q.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_find_update() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Customers").await;
        let mut p = profile("علی", "رضایی", "09121234567");
        p.tags = Some(Tag::parse_list(&["VIP".into()]).unwrap());
        p.external_id = Patch::Value("POS-1".into());
        p.consent = vec![ConsentChange {
            channel: Channel::Sms,
            granted: true,
            source: "pos".into(),
        }];
        let c = store.create_customer(&ctx, p).await.unwrap();
        assert_eq!(c.mobile.as_ref().unwrap().as_e164(), "+989121234567");

        let again = store
            .create_customer(&ctx, profile("x", "y", "+989121234567"))
            .await;
        assert!(
            matches!(again, Err(StoreError::DuplicateMobile)),
            "{name}: {again:?}"
        );

        let got = store
            .get_customer(&ctx.program_id, &c.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, c, "{name}: what was stored is what was returned");
        assert!(got.consent_sms.as_ref().unwrap().granted);

        // Every way a cashier finds a customer. The name was typed with Arabic ي.
        for q in [
            "علي",
            "رضايی",
            "09121234567",
            "۰۹۱۲۱۲۳۴۵۶۷",
            "4567",
            "POS-1",
            // Words in order, with anything between: a space typed for a ZWNJ finds it.
            "علی رضا",
            "رضا یی",
        ] {
            let page = store
                .list_customers(&ctx.program_id, &by_q(q))
                .await
                .unwrap();
            assert_eq!(page.items.len(), 1, "{name}: q={q}");
        }
        let tag = CustomerQuery {
            tag: Some(Tag::parse("vip").unwrap()),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_customers(&ctx.program_id, &tag)
                .await
                .unwrap()
                .items
                .len(),
            1
        );
        assert!(store
            .list_customers(&ctx.program_id, &by_q("100%_"))
            .await
            .unwrap()
            .items
            .is_empty());

        let patch = ProfilePatch {
            city: Patch::Value("Shiraz".into()),
            last_name: Patch::Null,
            ..Default::default()
        };
        let updated = store.update_customer(&ctx, &c.id, patch).await.unwrap();
        assert_eq!(updated.city.as_deref(), Some("Shiraz"));
        assert_eq!(updated.last_name, None);
        assert_eq!(updated.first_name.as_deref(), Some("علی"));
        assert_eq!(
            store
                .get_customer(&ctx.program_id, &c.id)
                .await
                .unwrap()
                .unwrap(),
            updated
        );
    })
    .await;
}

#[tokio::test]
async fn pages_walk_every_customer_once() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Pages").await;
        for i in 0..7 {
            store
                .create_customer(
                    &ctx,
                    profile("n", &i.to_string(), &format!("0912000000{i}")),
                )
                .await
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor = None;
        for _ in 0..10 {
            let q = CustomerQuery {
                page: PageRequest {
                    cursor: cursor.clone(),
                    limit: 3,
                },
                ..Default::default()
            };
            let page = store.list_customers(&ctx.program_id, &q).await.unwrap();
            seen.extend(page.items.into_iter().map(|c| c.id));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), 7, "{name}");
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(seen, sorted, "{name}: newest first, no repeats");
    })
    .await;
}

#[tokio::test]
async fn erase_drops_personal_data_and_the_mobile_no_longer_finds_it() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Erase").await;
        let c = store
            .create_customer(&ctx, profile("Sara", "Ahmadi", "09351234567"))
            .await
            .unwrap();
        let card = store
            .issue_cards(
                &ctx,
                &IssueCards {
                    customer_id: Some(c.id.clone()),
                    count: 1,
                },
            )
            .await
            .unwrap();
        let erased = store.erase_customer(&ctx, &c.id).await.unwrap();
        assert_eq!(erased.status, CustomerStatus::Erased);
        assert_eq!(
            (erased.first_name.clone(), erased.mobile.clone()),
            (None, None)
        );
        let found = store
            .list_customers(&ctx.program_id, &by_q("09351234567"))
            .await
            .unwrap();
        assert!(found.items.is_empty(), "{name}");
        // The id and its cards stay; the mobile is free for a new registration.
        assert!(store
            .get_customer(&ctx.program_id, &c.id)
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            store.customer_cards(&ctx.program_id, &c.id).await.unwrap()[0].id,
            card[0].id
        );
        store
            .create_customer(&ctx, profile("New", "Owner", "09351234567"))
            .await
            .unwrap();
        let twice = store.erase_customer(&ctx, &c.id).await.unwrap();
        assert_eq!(twice, erased, "erasing twice answers the same");
        let edit = store
            .update_customer(&ctx, &c.id, ProfilePatch::default())
            .await;
        assert!(matches!(edit, Err(StoreError::CustomerClosed("erased"))));
    })
    .await;
}

#[tokio::test]
async fn merge_moves_cards_and_identifiers_to_the_survivor() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Merge").await;
        let keep = store
            .create_customer(&ctx, profile("Reza", "Karimi", "09121111111"))
            .await
            .unwrap();
        let mut dup_profile = profile("Reza", "K", "09122222222");
        dup_profile.external_id = Patch::Value("OLD-7".into());
        dup_profile.city = Patch::Value("Tabriz".into());
        let dup = store.create_customer(&ctx, dup_profile).await.unwrap();
        let cards = store
            .issue_cards(
                &ctx,
                &IssueCards {
                    customer_id: Some(dup.id.clone()),
                    count: 1,
                },
            )
            .await
            .unwrap();

        let out = store
            .merge_customers(&ctx, &keep.id, &dup.id)
            .await
            .unwrap();
        assert_eq!(out.moved_cards, [cards[0].number.as_str()]);
        assert_eq!(out.survivor.external_id.as_deref(), Some("OLD-7"), "{name}");
        assert_eq!(out.survivor.city.as_deref(), Some("Tabriz"));
        assert_eq!(
            out.survivor.mobile.as_ref().unwrap().as_e164(),
            "+989121111111"
        );
        let survivor_cards = store
            .customer_cards(&ctx.program_id, &keep.id)
            .await
            .unwrap();
        assert_eq!(survivor_cards.len(), 1);

        let merged = store
            .get_customer(&ctx.program_id, &dup.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(merged.status, CustomerStatus::Merged);
        assert_eq!(merged.merged_into.as_deref(), Some(keep.id.as_str()));
        let by_card = CustomerQuery {
            card: Some(cards[0].number.clone()),
            ..Default::default()
        };
        let found = store
            .list_customers(&ctx.program_id, &by_card)
            .await
            .unwrap();
        assert_eq!(
            found.items[0].id, keep.id,
            "{name}: the card now finds the survivor"
        );

        assert!(matches!(
            store.merge_customers(&ctx, &keep.id, &keep.id).await,
            Err(StoreError::MergeSelf)
        ));
        assert!(matches!(
            store.merge_customers(&ctx, &keep.id, &dup.id).await,
            Err(StoreError::CustomerClosed(_))
        ));
        let audit = store
            .list_audit(&ctx.program_id, &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(audit.items[0].action, "customer.merged");
        assert_eq!(audit.items[0].summary["duplicate_id"], dup.id.as_str());
    })
    .await;
}

#[tokio::test]
async fn customers_are_invisible_across_programs() {
    each_backend(|store, _| async move {
        let a = program(&store, "A").await;
        let b = program(&store, "B").await;
        let c = store
            .create_customer(&a, profile("A", "One", "09123334444"))
            .await
            .unwrap();
        assert!(store
            .get_customer(&b.program_id, &c.id)
            .await
            .unwrap()
            .is_none());
        assert!(matches!(
            store
                .update_customer(&b, &c.id, ProfilePatch::default())
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.erase_customer(&b, &c.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store
            .list_customers(&b.program_id, &by_q("09123334444"))
            .await
            .unwrap()
            .items
            .is_empty());
        // The same mobile may belong to a customer of another program.
        store
            .create_customer(&b, profile("B", "One", "09123334444"))
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_mobile_make_one_customer() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Race").await;
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let (store, ctx) = (store.clone(), ctx.clone());
                tokio::spawn(async move {
                    store
                        .create_customer(&ctx, profile("Racer", &i.to_string(), "09127777777"))
                        .await
                })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => created += 1,
                Err(StoreError::DuplicateMobile) => {}
                Err(e) => panic!("{name}: {e}"),
            }
        }
        assert_eq!(created, 1, "{name}");
        let found = store
            .list_customers(&ctx.program_id, &by_q("09127777777"))
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1);
    })
    .await;
}
