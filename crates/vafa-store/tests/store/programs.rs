use crate::{each_backend, now, program};
use vafa_core::auth::Role;
use vafa_store::{Actor, Ctx, PageRequest, StoreError};

#[tokio::test]
async fn keys_authenticate_until_revoked() {
    each_backend(|store, name| async move {
        let ctx = program(&store, "Keys").await;
        let key = store
            .create_api_key(&ctx, Role::Cashier, Some("till 1"))
            .await
            .unwrap();
        let p = store
            .authenticate(&key.api_key, jiff::Timestamp::now())
            .await
            .unwrap()
            .expect(name);
        assert_eq!(
            (p.program_id.as_str(), p.role),
            (ctx.program_id.as_str(), Role::Cashier)
        );

        // A key with one wrong character, or a random string, is nobody.
        let mut forged = key.api_key.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == '0' { '1' } else { '0' });
        assert!(store
            .authenticate(&forged, jiff::Timestamp::now())
            .await
            .unwrap()
            .is_none());
        assert!(store
            .authenticate("vk_nonsense", jiff::Timestamp::now())
            .await
            .unwrap()
            .is_none());

        let revoked = store.revoke_api_key(&ctx, &key.key_id).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(store
            .authenticate(&key.api_key, jiff::Timestamp::now())
            .await
            .unwrap()
            .is_none());
        assert!(matches!(
            store.revoke_api_key(&ctx, &key.key_id).await,
            Err(StoreError::KeyRevoked)
        ));

        let keys = store.list_api_keys(&ctx.program_id).await.unwrap();
        assert_eq!(keys.len(), 2, "the admin key and the cashier key");
    })
    .await;
}

#[tokio::test]
async fn keys_and_audit_are_scoped_to_their_program() {
    each_backend(|store, _| async move {
        let a = program(&store, "A").await;
        let b = program(&store, "B").await;
        let key = store.create_api_key(&a, Role::Analyst, None).await.unwrap();
        assert!(matches!(
            store.revoke_api_key(&b, &key.key_id).await,
            Err(StoreError::NotFound(_))
        ));
        let ghost = Ctx {
            program_id: "prg_missing".into(),
            actor: Actor::Cli,
            now: now(),
        };
        assert!(matches!(
            store.create_api_key(&ghost, Role::Admin, None).await,
            Err(StoreError::NotFound(_))
        ));

        let audit_a = store
            .list_audit(&a.program_id, &PageRequest::default())
            .await
            .unwrap();
        let actions: Vec<_> = audit_a.items.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["api_key.created", "api_key.created", "program.created"]
        );
        let audit_b = store
            .list_audit(&b.program_id, &PageRequest::default())
            .await
            .unwrap();
        assert!(audit_b.items.iter().all(|e| e.target_id != key.key_id));
    })
    .await;
}
